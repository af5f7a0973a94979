import subprocess

subprocess.call(["ls", "-l"])
