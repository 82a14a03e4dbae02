#!/usr/bin/env python3
"""Writes N realistic synthetic leads as JSON lines (seeded, so every run makes the same file).

Usage: make_leads.py N [SEED] [--csv] > leads.jsonl (or leads.csv)
The value mix follows the original's sample file (../shared/seed/mock_companies.json). With
--csv the same leads are written as CSV, the way `brim score` reads it: lists joined by "; ",
the contact as contact.name/contact.email/contact.title.
"""
import csv
import json
import random
import sys

INDUSTRIES = ["SaaS", "Fintech", "AI", "Technology", "E-commerce", "Biotech", "Education",
              "Healthcare", "Manufacturing", "Retail", "Logistics", "Government"]
STAGES = [None, "Seed", "Series A", "Series B", "Series C", "IPO"]
TOOLS = ["Zapier", "Make", "Workato", "HubSpot", "Salesforce", "Slack", "AWS", "GCP", "Azure",
         "Kubernetes", "Docker", "Airtable", "Shopify"]
JOBS = ["Head of Operations", "Automation Engineer", "Sales Development Representative",
        "Data Analyst", "Software Engineer", "Customer Success", "Marketing Specialist",
        "DevOps Engineer", "RevOps Manager", "Factory Worker", "Product Manager", "UX Designer"]
NEWS = ["{n} raises ${m}M in {s} funding", "{n} expands to new markets",
        "{n} appoints new CTO", "{n} acquires a competitor", "{n} announces layoffs",
        "{n} launches a new product"]
ZONES = ["America/New_York", "Europe/Berlin", "Asia/Kolkata", "Europe/London", "America/Chicago"]


def lead(rng, i):
    name = f"Company {i:07d}"
    doc = {"company_name": name}
    if rng.random() < 0.93:
        doc["employee_count"] = rng.choice([rng.randint(5, 600), rng.randint(10, 5000)])
    if rng.random() < 0.95:
        doc["industry"] = rng.choice(INDUSTRIES)
    doc["funding_stage"] = rng.choice(STAGES)
    doc["tech_stack"] = rng.sample(TOOLS, rng.randint(0, 4))
    doc["recent_job_posts"] = rng.sample(JOBS, rng.randint(0, 3))
    doc["news_mentions"] = [rng.choice(NEWS).format(n=name, m=rng.randint(2, 90),
                                                   s=rng.choice(STAGES[1:]))
                            for _ in range(rng.randint(0, 2))]
    if rng.random() < 0.7:
        doc["contact"] = {"name": "Alex Doe", "email": f"alex@c{i}.example", "title": "COO"}
        doc["timezone"] = rng.choice(ZONES)
    return doc


CSV_COLUMNS = ["company_name", "employee_count", "industry", "funding_stage", "tech_stack",
               "recent_job_posts", "news_mentions", "contact.name", "contact.email",
               "contact.title", "timezone"]


def csv_row(doc):
    row = {}
    for key, value in doc.items():
        if key == "contact":
            for k, v in value.items():
                row[f"contact.{k}"] = v
        elif isinstance(value, list):
            row[key] = "; ".join(value)
        elif value is not None:
            row[key] = value
    return row


def main(argv):
    as_csv = "--csv" in argv
    argv = [a for a in argv if a != "--csv"]
    n = int(argv[0])
    rng = random.Random(int(argv[1]) if len(argv) > 1 else 0)
    out = sys.stdout
    if as_csv:
        writer = csv.DictWriter(out, CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for i in range(n):
            writer.writerow(csv_row(lead(rng, i)))
        return
    for i in range(n):
        out.write(json.dumps(lead(rng, i)))
        out.write("\n")


if __name__ == "__main__":
    main(sys.argv[1:])
