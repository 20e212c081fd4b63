"""`iamlint audit`: the scheduled, organization-wide audit with history.

collect.py (which accounts; one account read and loaded) · org.py (the organization file, SCP/RCP
levels) · run.py (concurrent collection, planning, recording; `whole_org_graph`: one model, one scan) ·
split.py (which accounts must be analysed together) · per_account.py (a unit's model, its scan in this
process, forked processes or on Dask, the merge) · store.py (SQLite history) ·
report.py (json/text/markdown/html of a run) · deliver.py (folder, S3) · notify.py (SNS, webhook).
The command line is iamlint/cli_audit.py.
"""
