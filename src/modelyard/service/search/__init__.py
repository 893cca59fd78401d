"""Automatic search (seed S6): a search is a training job whose trials are training jobs."""
