"""Build the compiled core in src/iwkmeans/_kmeans.

OpenMP is probed by compiling and linking a tiny program with the compiler
setuptools is about to use; if no flag works the core is built serially
(results are identical, only slower) and a warning says so.
"""
import os
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
    with tempfile.TemporaryDirectory() as tmp:
        source = os.path.join(tmp, "probe.c")
        with open(source, "w") as f:
            f.write(OPENMP_PROBE)
        for cflags, lflags in _openmp_candidates(compiler.compiler_type):
            try:
                objects = compiler.compile([source], output_dir=tmp, extra_postargs=cflags)
                compiler.link_executable(
                    objects, "probe", output_dir=tmp, extra_postargs=lflags
                )
            except Exception:  # any compile or link error means: not this flag
                continue
            return cflags, lflags
    return None


class BuildExtWithOpenMP(build_ext):
    def build_extensions(self):
        flags = probe_openmp(self.compiler)
        if flags is None:
            warnings.warn(
                "iwkmeans: the compiler does not support OpenMP; building a serial "
                "core (same results, one thread).",
                stacklevel=1,
            )
            flags = ([], [])
        optimise = ["/O2"] if self.compiler.compiler_type == "msvc" else ["-O3"]
        for ext in self.extensions:
            ext.extra_compile_args = optimise + flags[0]
            ext.extra_link_args = list(flags[1])
        super().build_extensions()


def extension(name):
    return Extension(
        f"iwkmeans._kmeans.{name}",
        sources=[f"src/iwkmeans/_kmeans/{name}.pyx"],
        include_dirs=["src/iwkmeans/_kmeans"],
    )


setup(
    ext_modules=cythonize(
        [extension(name) for name in ("_common", "_lloyd", "_seeding")],
        compiler_directives={
            "language_level": 3,
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
        },
        include_path=["src"],
    ),
    cmdclass={"build_ext": BuildExtWithOpenMP},
)
