"""``portal-archiver recover``: rebuilding a vanished site's collection from web archives.

* :mod:`crawler.recover.cdx` reads the CDX answers of the archives (no Scrapy);
* :mod:`crawler.recover.sources` says where each archive's CDX API and captures are;
* :mod:`crawler.recover.plan` decides which captures to fetch, from the URL rules of ``crawl``
  and of the portals' earlier generations (:mod:`crawler.generations`);
* :mod:`crawler.recover.identity` tells which article URLs are one history, from the
  redirects the archives kept;
* :mod:`crawler.recover.memento` turns an archive's answer back into the original response;
* :mod:`crawler.recover.pipeline` and :mod:`crawler.recover.politeness` are the Scrapy glue.
"""
