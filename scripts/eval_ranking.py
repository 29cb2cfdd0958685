"""Ranking quality on category folders of CVs: the rubric scorer against a TF-IDF and an embedding baseline.

For every category folder there is one job description written for that category (``scripts/eval_jobs``).
Every CV is scored against every job the way the services would (ingest's extractor and requirement
parser, embed's chunking, model and evidence, the rubric scorer); a job's own-category CVs should rank
above the others. Per job: ROC-AUC of own-category vs the rest and nDCG@10 with own-category CVs
relevant; the figures are means over the jobs.

    python -m scripts.eval_ranking <folder> [--jobs DIR] [--no-doc] [--cache]

``--cache`` keeps the CVs' chunk vectors in ``.shortlist/eval-ranking/`` (keyed by the files, the model and
the chunking settings), so repeated runs on the same folder skip embedding the CVs.
"""

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from scripts.eval_corpus import JOBS_DIR, prepare
from scripts.eval_methods import baseline_scores, rubric_scores
from scripts.eval_report import DOC, ROOT, evaluate, report, write_doc


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("folder", type=Path, help="a folder of category subfolders of CVs")
    parser.add_argument("--jobs", type=Path, default=JOBS_DIR, help="one <CATEGORY>.md job description per folder")
    parser.add_argument("--no-doc", action="store_true", help=f"print only; do not write {DOC.relative_to(ROOT)}")
    parser.add_argument("--cache", action="store_true", help="reuse the CVs' vectors from a previous --cache run")
    args = parser.parse_args(argv)
    if not args.folder.is_dir():
        parser.error(f"{args.folder} is not a folder")
    corpus = prepare(args.folder, args.jobs, cache=args.cache)
    started = time.perf_counter()
    scores = {"rubric": rubric_scores(corpus)}
    corpus.seconds["rubric"] = time.perf_counter() - started
    started = time.perf_counter()
    scores.update(baseline_scores(corpus))
    corpus.seconds["baselines"] = time.perf_counter() - started
    figures = {method: evaluate(corpus, s) for method, s in scores.items()}
    command = f"make eval-ranking PATH={args.folder}"
    body = report(corpus, figures, command)
    print(body)
    if not args.no_doc:
        write_doc(body)
        print(f"\nwritten to {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
