"""Build the compiled core (src/iwkmeans/_kmeans): one extension per .pyx.

OpenMP is probed by compiling and linking a tiny program with the compiler
setuptools is about to use; if no flag works the core is built serially
(results are identical, only slower) and a warning says so.
"""

import os
import pathlib
import shlex
import tempfile
import warnings

from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

OPENMP_PROBE = r"""
#include <omp.h>
int main(void) { return omp_get_max_threads() > 0 ? 0 : 1; }
"""


def _openmp_candidates(compiler_type):
    if compiler_type == "msvc":
        return [(["/openmp"], [])]
    # gcc and clang on Linux; Apple clang needs the preprocessor flag and libomp.
    return [(["-fopenmp"], ["-fopenmp"]), (["-Xpreprocessor", "-fopenmp"], ["-lomp"])]


def probe_openmp(compiler):
    """Return (compile_args, link_args) that build OpenMP code, or None."""
    # distutils adds LDFLAGS when it links a shared object (the extension) but
    # not an executable (the probe): add them here, so that a runtime found
    # through LDFLAGS (Homebrew's libomp on macOS) is found by the probe too.
    ldflags = []
    if compiler.compiler_type != "msvc":
        ldflags = shlex.split(os.environ.get("LDFLAGS", ""))
    with tempfile.TemporaryDirectory() as tmp:
        source = os.path.join(tmp, "probe.c")
        with open(source, "w") as f:
            f.write(OPENMP_PROBE)
        for cflags, lflags in _openmp_candidates(compiler.compiler_type):
            try:
                objects = compiler.compile([source], output_dir=tmp, extra_postargs=cflags)
                compiler.link_executable(
                    objects, "probe", output_dir=tmp, extra_postargs=ldflags + lflags
                )
            except Exception:  # any compile or link error means: not this flag
                continue
            return cflags, lflags
    return None


CYTHON_DIRECTIVES = {
    "language_level": 3,
    "boundscheck": False,
    "wraparound": False,
    "cdivision": True,
    "initializedcheck": False,
}


class BuildExtWithOpenMP(build_ext):
    def finalize_options(self):
        super().finalize_options()
        # The generated C files are large and each takes seconds to compile:
        # compile them side by side, one per core, unless -j says otherwise.
        if self.parallel is None:
            self.parallel = True

    def build_extensions(self):
        # Cythonized here rather than when setup.py is read, so that making
        # the sdist (which ships the .pyx, not the generated .c) skips Cython.
        for ext in self.extensions:
            ext.sources = cythonize(
                ext, compiler_directives=CYTHON_DIRECTIVES, include_path=["src"]
            )[0].sources
        flags = probe_openmp(self.compiler)
        if flags is None:
            warnings.warn(
                "iwkmeans: the compiler does not support OpenMP; building a serial "
                "core (same results, one thread).",
                stacklevel=1,
            )
            flags = ([], [])
        if self.compiler.compiler_type == "msvc":
            optimise = ["/O2"]
        else:
            optimise = ["-O3"]
            # Python's own build flags carry -g: on these large generated files
            # debug info makes the compiled modules 7 times larger and doubles
            # the compile time. It is kept when CFLAGS ask for it.
            cflags = shlex.split(os.environ.get("CFLAGS", ""))
            if not any(f.startswith("-g") and f != "-g0" for f in cflags):
                optimise.append("-g0")
            # They carry -fwrapv too (CPython's own C relies on signed
            # overflow wrapping; the kernels never overflow an index). Under
            # it gcc leaves loops indexed by int unvectorised: the exact row
            # distance took 347 instructions per row of 32 floats instead of
            # 127 (callgrind). The last of -fwrapv / -fno-wrapv wins.
            optimise.append("-fno-wrapv")
        for ext in self.extensions:
            ext.extra_compile_args = optimise + flags[0]
            ext.extra_link_args = list(flags[1])
        super().build_extensions()


def extensions():
    """One extension per .pyx under src/iwkmeans, named after its path (so a
    kernel added or moved needs no edit here), with its own directory on the
    include path for the headers it includes (simd.h, omp_compat.h). The
    headers are its dependencies too: editing one rebuilds the extensions."""
    sources = sorted(pathlib.Path("src", "iwkmeans").rglob("*.pyx"))
    if not sources:
        raise RuntimeError("no .pyx under src/iwkmeans: run setup.py from the project root")
    return [
        Extension(
            ".".join(source.relative_to("src").with_suffix("").parts),
            sources=[source.as_posix()],
            include_dirs=[source.parent.as_posix()],
            depends=sorted(h.as_posix() for h in source.parent.glob("*.h")),
        )
        for source in sources
    ]


setup(ext_modules=extensions(), cmdclass={"build_ext": BuildExtWithOpenMP})
