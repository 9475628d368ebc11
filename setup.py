"""Lets ``scrapyd-deploy`` (``python setup.py bdist_egg``) build the egg Scrapyd runs.

Everything, the ``scrapy`` entry point naming the settings module included, is declared in
pyproject.toml; without this file scrapyd-deploy would write a default one of its own.
"""

from setuptools import setup

setup()
