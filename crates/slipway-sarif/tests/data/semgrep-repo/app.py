import subprocess


def run(cmd):
    return subprocess.call(cmd, shell=True)


password = "hunter2"


def run_reviewed(cmd):
    return subprocess.call(cmd, shell=True)  # nosemgrep
