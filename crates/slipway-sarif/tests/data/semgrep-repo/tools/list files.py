import subprocess

subprocess.call("ls", shell=True)
