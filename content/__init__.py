"""Data and words: care schedules, WHO tables, demo data, region names and message catalogues."""
from pathlib import Path

CONTENT_DIR = Path(__file__).resolve().parent
