"""The project's benchmarks: AWS calls, computed DynamoDB capacity, import time and package size.

Run ``make bench``; see ``bench/RESULTS.md`` for the figures and ``bench/__main__.py`` for the order.
"""
