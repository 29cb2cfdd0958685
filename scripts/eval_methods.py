"""How each method scores every (job, CV) pair: the rubric scorer and the baselines it has to beat."""

import numpy as np
import numpy.typing as npt
from sklearn.feature_extraction.text import TfidfVectorizer

from scripts.eval_corpus import Corpus, embedded_for
from shortlist.embed.config import Settings as EmbedSettings
from shortlist.embed.local_model import DIMENSION
from shortlist.score.scorers.base import Thresholds
from shortlist.score.scorers.rubric import RubricScorer

Matrix = npt.NDArray[np.float64]
"""Scores, one row per job and one column per CV."""


def rubric_scores(corpus: Corpus, scorer: RubricScorer | None = None) -> Matrix:
    scorer = scorer or RubricScorer(Thresholds(advance=70.0, reject=45.0))
    top_k = EmbedSettings().evidence_top_k
    scores = np.zeros((len(corpus.jobs), len(corpus.cvs)))
    for i, job in enumerate(corpus.jobs):
        for j, cv in enumerate(corpus.cvs):
            scores[i, j] = scorer.score_sync(embedded_for(job, cv, corpus.model, top_k)).score
    return scores


def tfidf_scores(corpus: Corpus) -> Matrix:
    vectorizer = TfidfVectorizer(stop_words="english", sublinear_tf=True)
    vectorizer.fit([cv.ingested.redacted_text for cv in corpus.cvs] + [job.description for job in corpus.jobs])
    cvs = vectorizer.transform([cv.ingested.redacted_text for cv in corpus.cvs])
    jobs = vectorizer.transform([job.description for job in corpus.jobs])
    return np.asarray((jobs @ cvs.T).toarray(), dtype=np.float64)


def _descriptions(corpus: Corpus) -> Matrix:
    return np.stack([job.description_vector for job in corpus.jobs if job.description_vector is not None])


def embedding_scores(corpus: Corpus) -> Matrix:
    """Cosine between the job description's vector and the mean of the CV's chunk vectors."""
    means = []
    for cv in corpus.cvs:
        assert cv.vectors is not None
        mean = cv.vectors.mean(axis=0) if len(cv.vectors) else np.zeros(DIMENSION)
        means.append(mean / (np.linalg.norm(mean) or 1.0))
    return np.asarray(_descriptions(corpus) @ np.stack(means).T, dtype=np.float64)


def embedding_max_scores(corpus: Corpus) -> Matrix:
    """The best cosine between the job description's vector and any one chunk of the CV."""
    jobs = _descriptions(corpus)
    columns = [
        (jobs @ cv.vectors.T).max(axis=1) if cv.vectors is not None and len(cv.vectors) else np.zeros(len(jobs))
        for cv in corpus.cvs
    ]
    return np.asarray(np.stack(columns, axis=1), dtype=np.float64)


def embedding_doc_scores(corpus: Corpus) -> Matrix:
    """Cosine between the job description and the CV's whole text embedded as one input.

    The model reads at most 256 word pieces, so this is in effect the CV's opening (headline, summary).
    """
    documents = np.stack([cv.document_vector for cv in corpus.cvs if cv.document_vector is not None])
    return np.asarray(_descriptions(corpus) @ documents.T, dtype=np.float64)


def baseline_scores(corpus: Corpus) -> dict[str, Matrix]:
    return {
        "tfidf": tfidf_scores(corpus),
        "embedding": embedding_scores(corpus),
        "embedding-max": embedding_max_scores(corpus),
        "embedding-doc": embedding_doc_scores(corpus),
    }
