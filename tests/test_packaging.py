"""What `pip install .` puts on a user's machine: a wheel holds the packages setup.py names and
their `package_data`, nothing else. The tests run from an editable install, which sees every file
of the checkout, so a data file or a module folder that setup.py misses would pass here and be
missing for users (the shipped weights, say: `deblur` with no --model would then fail on every
machine)."""

import fnmatch
import pathlib
import runpy

import setuptools

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOCUMENTATION = "*.md"  # for readers of the repository (pipelines/README.md); no code reads them


def _setup_arguments(monkeypatch):
    arguments = {}
    monkeypatch.setattr(setuptools, "setup", lambda **given: arguments.update(given))
    monkeypatch.chdir(ROOT)  # find_packages() looks in the working directory
    runpy.run_path(str(ROOT / "setup.py"), run_name="setup")
    return arguments


def _files(top):
    return [
        path
        for path in sorted((ROOT / top).rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    ]


def test_every_module_and_data_file_is_in_the_wheel(monkeypatch):
    arguments = _setup_arguments(monkeypatch)
    packages = set(arguments["packages"])
    package_data = arguments.get("package_data", {})
    tops = {package.split(".")[0] for package in packages}
    assert tops == {"keras_deblur", "pipelines"}

    left_out = []
    for top in sorted(tops):
        for path in _files(top):
            folder = ".".join(path.relative_to(ROOT).parent.parts)
            if fnmatch.fnmatch(path.name, DOCUMENTATION):
                continue
            if path.suffix == ".py":
                if folder not in packages:
                    left_out.append(f"{path.relative_to(ROOT)}: its folder is not a package")
                continue
            # The innermost package holding the file: package_data paths are relative to it.
            owner = max((p for p in packages if folder == p or folder.startswith(p + ".")), key=len)
            relative = path.relative_to(ROOT / owner.replace(".", "/")).as_posix()
            if not any(fnmatch.fnmatch(relative, p) for p in package_data.get(owner, [])):
                left_out.append(f"{path.relative_to(ROOT)}: not in package_data[{owner!r}]")
    assert not left_out, left_out
