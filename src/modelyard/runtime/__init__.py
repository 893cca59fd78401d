"""Runs inside a job: lays out /home/ma-user, stages data, runs the code, uploads outputs."""
