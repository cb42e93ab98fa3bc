"""Prints the folder, relative to the install prefix argv[1], where this Python interpreter
looks for packages under that prefix: the user site for ~/.local, Debian's dist-packages for
/usr/local and /usr, else the standard site-packages (then PYTHONPATH must name it)."""
import os
import site
import sys
import sysconfig

prefix = os.path.realpath(sys.argv[1])
found = []
for c in [site.getusersitepackages()] + list(site.getsitepackages()):
    r = os.path.realpath(c)
    if r.startswith(prefix + os.sep):
        found.append(os.path.relpath(r, prefix))
if not found:
    found.append(os.path.relpath(sysconfig.get_path(
        "purelib", "posix_prefix", vars={"base": prefix, "platbase": prefix}), prefix))
print(min(found, key=lambda p: p.count(os.sep)))
