"""ModelYard: run ModelArts-style training jobs on your own machines."""

__version__ = "0.1.0"
