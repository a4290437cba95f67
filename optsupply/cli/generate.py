"""``optsupply generate``: write a synthetic scenario of a given size."""

from __future__ import annotations

import argparse
from typing import Any

from optsupply.errors import EXIT_OK
from optsupply.scenario.generate_params import DEFAULT_PROFILE, PROFILES, SIZES


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser("generate", help="write a synthetic scenario of a given size",
                       description="Write a realistic synthetic scenario (with history) to OUT. The same size, "
                                   "seed and profile always give the same files, byte for byte.")
    p.add_argument("--size", choices=list(SIZES), required=True,
                   help="tiny 3 products, xsmall 6, small 12, medium 60, large 250, xlarge 1000 "
                        "(exact sizes in the README)")
    p.add_argument("--seed", type=int, required=True, help="random seed (a whole number)")
    p.add_argument("--profile", choices=list(PROFILES), default=DEFAULT_PROFILE,
                   help="business (default): economics a business would recognise; stress: the earlier, "
                        "harder generator, for hard benchmark cases (instances/GENERATED.md)")
    p.add_argument("out", help="folder to write (must not exist, or be empty, unless --force)")
    p.add_argument("--force", action="store_true", help="replace OUT if it exists")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from optsupply.files import guard_folder
    from optsupply.scenario.generate import generate

    guard_folder(args.out, kind="scenario", force=args.force, what="OUT")
    scenario = generate(args.size, seed=args.seed, profile=args.profile)
    path = scenario.save(args.out, overwrite=args.force)
    profile = "" if args.profile == "business" else f", profile {args.profile}"
    print(f"wrote {args.size} scenario (seed {args.seed}{profile}) to {path}: {scenario!r}")
    return EXIT_OK
