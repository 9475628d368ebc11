"""A local replica of the Đồng Tháp Liferay portal: markup, URL shapes, traps and faults.

Run it with ``python -m replica --port 0`` or start it in-process with
:func:`replica.server.start`; ``GET /__replica/manifest`` gives the ground truth.
"""
