"""``resunet-gui simulate FOLDER``: the folder's masks act as a perfect annotator.

Writes ``simulate.csv`` and ``learning_curve.png`` to ``--out`` and prints the test Dice
after 5, 10 and 20 corrected images. The folder itself is never written.
"""
from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from resunet_gui.engine.settings import SIM_ORDERS, SimConfig

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction, name: str) -> None:
    p = subparsers.add_parser(name, help="simulate annotating a labelled folder (learning curve)",
                              description=__doc__)
    p.add_argument("folder", type=Path, help="labelled project folder with a test split")
    d = SimConfig()
    p.add_argument("--time-per-image", type=float, default=d.time_per_image, metavar="S",
                   help="seconds of background training after each corrected image (%(default)s)")
    p.add_argument("--steps-per-image", type=int, metavar="N",
                   help="instead of --time-per-image: exactly N training steps per image, "
                        "trained only between images (the same figures on any machine)")
    p.add_argument("--max-images", type=int, help="stop after N train images (default: all)")
    p.add_argument("--order", choices=SIM_ORDERS, default=d.order,
                   help="which N train images: spread evenly over the list, the first N, or "
                        "a random (seeded) N (%(default)s)")
    p.add_argument("--device", default=d.device, help="auto, cpu, cuda[:N] or mps (%(default)s)")
    p.add_argument("--out", type=Path, default=Path("simulate-out"),
                   help="folder for simulate.csv and learning_curve.png (%(default)s)")
    p.add_argument("--weights", default=d.weights,
                   help="encoder init: none (random, the headline setting), imagenet, or a file")
    p.add_argument("--min-done", type=int, default=d.min_done,
                   help="done images before training starts (the app's default is 3)")
    p.add_argument("--eval-every", type=int, default=d.eval_every,
                   help="images between test evaluations (%(default)s)")
    p.add_argument("--max-test", type=int, default=d.max_test,
                   help="at most N evenly spaced test images are scored (%(default)s)")
    p.add_argument("--crop", type=int, default=d.crop,
                   help="side of the random training crops in pixels (%(default)s)")
    p.add_argument("--batch-size", type=int, default=d.batch_size,
                   help="crops per optimiser step (%(default)s)")
    p.add_argument("--lr", type=float, default=d.lr, help="learning rate (%(default)s)")
    p.add_argument("--ema-decay", type=float, default=d.ema_decay,
                   help="weight average that is scored and served (0 = raw weights)")
    p.add_argument("--class-balance", type=float, default=d.class_balance,
                   help="cross-entropy weight per class = frequency ** -X (0 = plain CE)")
    p.add_argument("--seed", type=int, default=d.seed, help="random seed (%(default)s)")
    p.add_argument("--no-effort", dest="effort", action="store_false",
                   help="skip the effort model (strokes and clicks per image)")
    p.add_argument("--target-dice", type=float, default=d.target_dice,
                   help="effort model: the simulated user stops at this Dice per class")
    p.add_argument("--max-actions", type=int, default=d.max_actions,
                   help="effort model: at most this many strokes and clicks per image")
    p.add_argument("--no-effort-refine", dest="effort_refine", action="store_false",
                   help="effort model: leave 'refine from my strokes' out of the user's tools")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from resunet_gui.cli.simulate_plots import effort_png, learning_curve_png
    from resunet_gui.engine.simulate import simulate

    cfg = SimConfig(time_per_image=args.time_per_image, steps_per_image=args.steps_per_image,
                    max_images=args.max_images, order=args.order,
                    device=args.device, weights=args.weights, min_done=args.min_done,
                    eval_every=args.eval_every, max_test=args.max_test, crop=args.crop,
                    batch_size=args.batch_size, lr=args.lr, ema_decay=args.ema_decay,
                    class_balance=args.class_balance,
                    seed=args.seed, effort=args.effort, target_dice=args.target_dice,
                    max_actions=args.max_actions, effort_refine=args.effort_refine)

    def show(r) -> None:
        test = "" if r.test_dice is None else f"  test Dice {r.test_dice:.3f}"
        effort = ("" if r.effort_actions is None else
                  f"  actions {r.effort_actions}/{r.brush_actions}/{r.scratch_actions}")
        log.info("%3d %-12s %6.0f s  suggestion Dice %.3f  corrected %.3f  %s  step %d%s%s",
                 r.images_done, r.stem, r.elapsed_s, r.suggestion_dice, r.corrected_fraction,
                 r.model_version, r.train_steps, test, effort)

    rows = simulate(args.folder, args.out, cfg, progress=show)
    budget = (f"{cfg.steps_per_image} training steps" if cfg.steps_per_image
              else f"{cfg.time_per_image:g} s training")
    title = f"{args.folder.name}: {budget} per image, {cfg.device}"
    learning_curve_png(args.out / "learning_curve.png", rows, title)
    if cfg.effort:
        effort_png(args.out / "effort.png", rows, title)
    at = {r.images_done: r.test_dice for r in rows if r.test_dice is not None}
    summary = {"folder": str(args.folder), "images": len(rows),
               "seconds": rows[-1].elapsed_s if rows else 0,
               "test_dice_after": {str(n): round(at[n], 4) for n in (5, 10, 20) if n in at},
               "final_test_dice": round(rows[-1].test_dice, 4) if rows and rows[-1].test_dice
               is not None else None,
               "csv": str(args.out / "simulate.csv"),
               "png": str(args.out / "learning_curve.png")}
    late = [r for r in rows if 16 <= r.images_done <= 20 and r.effort_actions is not None]
    if late:
        summary["median_actions_images_16_20"] = {
            k: float(np.median([getattr(r, f"{k}_actions") for r in late]))
            for k in ("effort", "brush", "scratch")}
    print(json.dumps(summary, indent=2))
    return 0
