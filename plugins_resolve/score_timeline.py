"""Workspace > Scripts > Score timeline (DaVinci Resolve, Edit page):
export the cut, score it, then import
the soundtrack on a "Score" track and the affect curve as markers.

Installed by `scorebridge install-resolve`; the logic is in scorebridge_resolve.py.
"""

import os
import sys


def _library_folders():
    # Resolve may run scripts without __file__; then look in the per-user script folders.
    try:
        here = os.path.dirname(os.path.abspath(__file__))
    except NameError:
        pass
    else:
        yield here  # the repository layout
        yield os.path.join(here, ".scorebridge")  # the installed layout
    home = os.path.expanduser("~")
    roots = [
        os.path.join(os.environ.get("APPDATA", ""), "Blackmagic Design", "DaVinci Resolve",
                     "Support", "Fusion", "Scripts", "Edit"),
        os.path.join(home, "Library", "Application Support", "Blackmagic Design",
                     "DaVinci Resolve", "Fusion", "Scripts", "Edit"),
        os.path.join(home, ".local", "share", "DaVinciResolve", "Fusion", "Scripts", "Edit"),
    ]
    for root in roots:
        yield os.path.join(root, ".scorebridge")


for _folder in _library_folders():
    if os.path.isfile(os.path.join(_folder, "scorebridge_resolve.py")):
        sys.path.insert(0, _folder)  # ahead of any other module named "bridge"
        break

import scorebridge_resolve  # noqa: E402 (found through the path set just above)

scorebridge_resolve.main("score", globals().get("resolve"))
