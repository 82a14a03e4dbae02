#!/usr/bin/env python3
"""The original system's "balanced" scoring, written from ../shared/spec/seed-reference.md §2.

Two uses:
  * the speed baseline in docs/PERFORMANCE.md (`--bench N` times the pure function;
    `FILE` scores a JSON-lines file from text to JSON-lines output, as `brim score` does);
  * the exactness oracle in brim-core's tests: `brim score --model balanced` must give the same
    fit, intent, total, confidence, action and company_id for every lead.

Usage: original_scoring.py [FILE|-]          JSON lines (or a JSON array) in, JSON lines out
       original_scoring.py --bench N FILE    time the pure function over N leads from FILE
"""
import hashlib
import json
import sys
import time

IDEAL_INDUSTRIES = {"saas", "fintech", "ai", "technology"}
GOOD_INDUSTRIES = {"e-commerce", "biotech", "education"}
AUTOMATION_TOOLS = {"zapier", "make", "workato", "hubspot"}
OPS_KEYWORDS = ("operations", "ops", "automation engineer")
FIELDS = ("company_name", "employee_count", "industry", "funding_stage",
          "tech_stack", "recent_job_posts", "news_mentions")


def calculate_scores(company):
    positive, negative, missing = [], [], []
    fit_signals, intent_signals = [], []

    employees = company.get("employee_count")
    if employees is None:
        missing.append("employee_count")
    elif 30 <= employees <= 300:
        fit_signals.append(100)
        positive.append(f"Ideal company size ({employees} employees).")
    elif 15 <= employees <= 29 or 301 <= employees <= 500:
        fit_signals.append(50)
        positive.append(f"Acceptable company size ({employees} employees).")
    else:
        fit_signals.append(0)
        negative.append("Company size is outside target range.")

    industry = company.get("industry")
    if not industry:
        missing.append("industry")
    elif industry.lower() in IDEAL_INDUSTRIES:
        fit_signals.append(100)
        positive.append(f"Ideal industry: {industry}.")
    elif industry.lower() in GOOD_INDUSTRIES:
        fit_signals.append(60)
        positive.append(f"Good industry fit: {industry}.")

    stack = company.get("tech_stack") or []
    if not stack:
        missing.append("tech_stack")
    else:
        tools = [t.lower() for t in stack if t.lower() in AUTOMATION_TOOLS]
        if tools:
            intent_signals.append(100)
            positive.append(f"Uses automation tools: {', '.join(dict.fromkeys(tools))}.")
        else:
            intent_signals.append(20)
            negative.append("No automation tools in the tech stack.")

    jobs = company.get("recent_job_posts") or []
    if not jobs:
        missing.append("recent_job_posts")
    elif any(k in job.lower() for job in jobs for k in OPS_KEYWORDS):
        intent_signals.append(100)
        positive.append("Hiring for operations or automation roles.")

    fit = int(sum(fit_signals) / len(fit_signals)) if fit_signals else 0
    intent = int(sum(intent_signals) / len(intent_signals)) if intent_signals else 0
    total = int(fit * 0.6 + intent * 0.4)
    if total > 80:
        action = "high_priority_outreach"
    elif total > 60:
        action = "medium_priority_outreach"
    else:
        action = "low_priority_monitoring"
    present = sum(1 for f in FIELDS if company.get(f) not in (None, "", []))
    return {
        "company_id": hashlib.sha1(company["company_name"].encode()).hexdigest()[:15],
        "fit_score": fit,
        "intent_score": intent,
        "total_score": total,
        "confidence": round(present / len(FIELDS), 2),
        "action": action,
        "reasoning": {"positive": positive, "negative": negative, "missing": missing},
    }


def read_leads(text):
    text = text.lstrip("\ufeff")
    if text.lstrip().startswith("["):
        return json.loads(text)
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def main(argv):
    if len(argv) >= 3 and argv[0] == "--bench":
        n = int(argv[1])
        with open(argv[2], encoding="utf-8") as f:
            leads = read_leads(f.read())
        leads = (leads * (n // len(leads) + 1))[:n]
        start = time.perf_counter()
        for lead in leads:
            calculate_scores(lead)
        elapsed = time.perf_counter() - start
        print(f"{n} leads in {elapsed:.3f} s: {n / elapsed:,.0f} leads/s (pure function, one core)")
        return 0
    path = argv[0] if argv else "-"
    src = sys.stdin if path == "-" else open(path, encoding="utf-8")
    out = sys.stdout
    for line in src:
        if line.strip():
            out.write(json.dumps(calculate_scores(json.loads(line.lstrip("\ufeff")))))
            out.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
