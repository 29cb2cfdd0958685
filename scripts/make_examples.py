"""Write the sample job and the six fictional CVs of examples/ (4 PDF with reportlab, 2 DOCX with python-docx).

Run: .venv/bin/python scripts/make_examples.py
"""

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from docx import Document
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.platypus import ListFlowable, ListItem, Paragraph, SimpleDocTemplate, Spacer

FIXED_TIME = datetime(2026, 1, 5, 9, 0, 0)
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

JOB = """\
# Senior Python Backend Engineer

Northwind Logistics is hiring a senior backend engineer for the team that builds our shipment
tracking platform. You will design event-driven services in Python that process millions of
tracking events a day, own their APIs and run them in production.

## Must have

- 5+ years of professional Python development
- Event-driven systems with Apache Kafka or a similar message broker
- PostgreSQL and strong SQL skills
- Docker and Kubernetes in production
- Designing and building REST APIs

## Nice to have

- Vector search with Qdrant or a similar vector database
- Observability with OpenTelemetry, Prometheus and Grafana
- Machine learning in production systems
"""


@dataclass
class Role:
    title: str
    period: str
    bullets: list[str]


@dataclass
class Cv:
    file: str
    name: str
    headline: str
    email: str
    summary: str
    experience: list[Role]
    education: list[str]
    skills: list[str]


CVS = [
    Cv(
        file="amara-okafor.pdf",
        name="Amara Okafor",
        headline="Senior Backend Engineer",
        email="amara.okafor@example.com",
        summary=(
            "Backend engineer with 9 years of Python, building event-driven platforms on Apache Kafka, "
            "PostgreSQL and Kubernetes. I design REST APIs, run services in production and care about "
            "observability."
        ),
        experience=[
            Role(
                "Staff Backend Engineer, Parcelway GmbH",
                "2020 – present",
                [
                    "Designed a Kafka-based event pipeline in Python (aiokafka, FastAPI) handling 40 million "
                    "tracking events per day with exactly-once processing semantics.",
                    "Owned the PostgreSQL schema and query tuning for the shipment database (2 TB), cutting "
                    "p95 query latency from 900 ms to 60 ms.",
                    "Moved 14 services to Docker and Kubernetes with Helm charts and canary releases.",
                    "Introduced OpenTelemetry tracing and Prometheus/Grafana dashboards across the platform.",
                ],
            ),
            Role(
                "Backend Engineer, Brightcart",
                "2016 – 2020",
                [
                    "Built REST APIs in Python (Django REST framework) for the checkout and order services.",
                    "Added semantic product search with sentence embeddings stored in Qdrant.",
                    "Wrote SQL reporting jobs on PostgreSQL and mentored three junior engineers.",
                ],
            ),
        ],
        education=["MSc Computer Science, University of Lagos, 2015"],
        skills=[
            "Python, FastAPI, Django, asyncio",
            "Apache Kafka, event-driven architecture, RabbitMQ",
            "PostgreSQL, SQL, SQLAlchemy",
            "Docker, Kubernetes, Helm, Terraform",
            "REST API design, OpenAPI",
            "Qdrant, OpenTelemetry, Prometheus, Grafana",
        ],
    ),
    Cv(
        file="jonas-lindqvist.docx",
        name="Jonas Lindqvist",
        headline="Python Developer",
        email="jonas.lindqvist@example.com",
        summary=(
            "Python developer with 6 years of experience building web backends and REST APIs with Django "
            "and PostgreSQL, recently working with message queues and containers."
        ),
        experience=[
            Role(
                "Backend Developer, Fjordbank",
                "2021 – present",
                [
                    "Develop REST APIs in Python with Django REST framework for the mobile banking app.",
                    "Maintain the PostgreSQL database and write complex SQL for reconciliation reports.",
                    "Introduced RabbitMQ and Celery for asynchronous payment notifications.",
                    "Package services as Docker images deployed to a Kubernetes cluster run by the platform team.",
                ],
            ),
            Role(
                "Python Developer, Nordic Travel Systems",
                "2018 – 2021",
                [
                    "Built a booking API with Flask and PostgreSQL.",
                    "Consumed partner events from a Kafka topic for a price-update feature.",
                ],
            ),
        ],
        education=["BSc Software Engineering, KTH Royal Institute of Technology, 2018"],
        skills=["Python, Django, Flask, Celery", "PostgreSQL, SQL", "RabbitMQ, some Kafka", "Docker, Kubernetes"],
    ),
    Cv(
        file="priya-raman.pdf",
        name="Priya Raman",
        headline="Java Backend Engineer",
        email="priya.raman@example.com",
        summary=(
            "Backend engineer with 7 years in Java and Spring Boot building event-driven microservices on "
            "Apache Kafka. I use Python for scripts and tooling."
        ),
        experience=[
            Role(
                "Senior Software Engineer, Meridian Payments",
                "2019 – present",
                [
                    "Built Spring Boot microservices that exchange payment events over Apache Kafka.",
                    "Designed REST APIs documented with OpenAPI for merchant integrations.",
                    "Worked with MySQL and Oracle databases; wrote stored procedures and SQL migrations.",
                    "Wrote Python scripts to automate test data generation and release checks.",
                ],
            ),
            Role(
                "Software Engineer, Infosys",
                "2016 – 2019",
                ["Maintained Java EE applications for an insurance client."],
            ),
        ],
        education=["BTech Computer Science, Anna University, 2016"],
        skills=["Java, Spring Boot, Kotlin", "Apache Kafka", "MySQL, Oracle, SQL", "Python (scripting)", "Jenkins"],
    ),
    Cv(
        file="luca-bianchi.pdf",
        name="Luca Bianchi",
        headline="Pastry Chef",
        email="luca.bianchi@example.com",
        summary=(
            "Pastry chef with 12 years in hotel and restaurant kitchens, specialised in laminated doughs, "
            "plated desserts and running a pastry team."
        ),
        experience=[
            Role(
                "Head Pastry Chef, Hotel Lungarno",
                "2017 – present",
                [
                    "Lead a team of six pastry cooks producing breakfast viennoiserie and plated desserts for "
                    "a 120-cover restaurant.",
                    "Designed seasonal dessert menus and managed ingredient costs and suppliers.",
                ],
            ),
            Role(
                "Pastry Cook, Pasticceria Marchetti",
                "2012 – 2017",
                ["Produced croissants, panettone and celebration cakes; trained apprentices."],
            ),
        ],
        education=["Diploma in Pastry Arts, ALMA Scuola Internazionale di Cucina Italiana, 2012"],
        skills=["Laminated doughs, chocolate tempering, sugar work", "Menu costing", "Kitchen team leadership"],
    ),
    Cv(
        file="mei-tanaka.docx",
        name="Mei Tanaka",
        headline="Data Scientist",
        email="mei.tanaka@example.com",
        summary=(
            "Data scientist with 5 years of Python for machine learning: forecasting, classification and "
            "NLP models, from notebooks to batch pipelines."
        ),
        experience=[
            Role(
                "Data Scientist, Sakura Retail Analytics",
                "2020 – present",
                [
                    "Built demand forecasting models with pandas, scikit-learn and LightGBM in Python.",
                    "Trained text classifiers with PyTorch and sentence embeddings for customer reviews.",
                    "Wrote SQL queries on PostgreSQL and BigQuery for feature extraction.",
                    "Served one model behind a small Flask endpoint for the marketing team.",
                ],
            ),
            Role(
                "Research Assistant, Kyoto University",
                "2018 – 2020",
                ["Statistical analysis of sensor data in R and Python; published two papers."],
            ),
        ],
        education=["MSc Statistics, Kyoto University, 2018"],
        skills=["Python, pandas, NumPy, scikit-learn, PyTorch", "Machine learning, NLP", "SQL", "Jupyter, Airflow"],
    ),
    Cv(
        file="sofia-herrera.pdf",
        name="Sofia Herrera",
        headline="Frontend Developer",
        email="sofia.herrera@example.com",
        summary=(
            "Frontend developer with 6 years building accessible single-page applications with React and "
            "TypeScript, consuming REST and GraphQL APIs."
        ),
        experience=[
            Role(
                "Senior Frontend Developer, Lumen Health",
                "2020 – present",
                [
                    "Built the patient portal in React, TypeScript and Redux, used by 300,000 patients.",
                    "Integrated REST APIs from the backend team and wrote API mocks for UI tests.",
                    "Set up Storybook, Cypress end-to-end tests and a design system.",
                ],
            ),
            Role(
                "Web Developer, Agencia Puerta",
                "2017 – 2020",
                ["Built marketing sites with Vue.js and a small Node.js/Express backend."],
            ),
        ],
        education=["BSc Multimedia Engineering, Universidad de Granada, 2017"],
        skills=["TypeScript, JavaScript, React, Vue.js", "HTML, CSS, accessibility", "Node.js, REST, GraphQL"],
    ),
]


def write_pdf(cv: Cv, path: Path) -> None:
    styles = getSampleStyleSheet()
    doc = SimpleDocTemplate(
        str(path),
        pagesize=A4,
        leftMargin=2 * cm,
        rightMargin=2 * cm,
        topMargin=2 * cm,
        bottomMargin=2 * cm,
        title=f"CV {cv.name}",
        author=cv.name,
        invariant=1,
    )
    story: list = [
        Paragraph(cv.name, styles["Title"]),
        Paragraph(f"{cv.headline} · {cv.email}", styles["Normal"]),
        Spacer(1, 0.4 * cm),
        Paragraph("Summary", styles["Heading2"]),
        Paragraph(cv.summary, styles["Normal"]),
        Paragraph("Experience", styles["Heading2"]),
    ]
    for role in cv.experience:
        story.append(Paragraph(f"{role.title} ({role.period})", styles["Heading4"]))
        story.append(
            ListFlowable([ListItem(Paragraph(b, styles["Normal"])) for b in role.bullets], bulletType="bullet")
        )
    story.append(Paragraph("Education", styles["Heading2"]))
    story.extend(Paragraph(e, styles["Normal"]) for e in cv.education)
    story.append(Paragraph("Skills", styles["Heading2"]))
    story.append(ListFlowable([ListItem(Paragraph(s, styles["Normal"])) for s in cv.skills], bulletType="bullet"))
    doc.build(story)


def write_docx(cv: Cv, path: Path) -> None:
    doc = Document()
    doc.core_properties.author = cv.name
    doc.core_properties.created = doc.core_properties.modified = FIXED_TIME
    doc.add_heading(cv.name, level=0)
    doc.add_paragraph(f"{cv.headline} · {cv.email}")
    doc.add_heading("Summary", level=1)
    doc.add_paragraph(cv.summary)
    doc.add_heading("Experience", level=1)
    for role in cv.experience:
        doc.add_heading(f"{role.title} ({role.period})", level=2)
        for bullet in role.bullets:
            doc.add_paragraph(bullet, style="List Bullet")
    doc.add_heading("Education", level=1)
    for line in cv.education:
        doc.add_paragraph(line)
    doc.add_heading("Skills", level=1)
    for skill in cv.skills:
        doc.add_paragraph(skill, style="List Bullet")
    doc.save(str(path))


def main() -> None:
    cvs = EXAMPLES / "cvs"
    cvs.mkdir(parents=True, exist_ok=True)
    (EXAMPLES / "job.md").write_text(JOB, encoding="utf-8")
    for cv in CVS:
        path = cvs / cv.file
        if path.suffix == ".pdf":
            write_pdf(cv, path)
        else:
            write_docx(cv, path)
        print(f"wrote {path.relative_to(EXAMPLES.parent)}")


if __name__ == "__main__":
    main()
