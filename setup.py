"""Build step: ship the Resolve scripts and the Premiere panel inside the wheel.

Everything else about the package is in pyproject.toml. The plugin folders stay where they
are in the repository; ``build_py`` copies their user-facing files into
``bridge/_plugins/<name>`` of the build, where ``bridge.plugin_files`` finds them.
"""

import importlib.util
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


def _plugin_files():
    # loaded by path: importing the bridge package here would need its dependencies
    spec = importlib.util.spec_from_file_location("plugin_files", HERE / "bridge/plugin_files.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class BuildWithPlugins(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the repository's folders directly
        plugin_files = _plugin_files()
        for name, folder in plugin_files.PLUGIN_SOURCES.items():
            source = HERE / folder
            target = Path(self.build_lib) / "bridge" / "_plugins" / name
            for relative in plugin_files.shipped_files(source):
                (target / relative).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source / relative, target / relative)


setup(cmdclass={"build_py": BuildWithPlugins})
