"""Intake: reading and validating what departments upload.

Owns the column specification (columns), the file reader (reader), cell parsing (parse), the header search and
row validation (upload, validate), the validation report (report, report_xlsx), the blank forms (template) and
formula-safe cell writing (xlsxsafe). Imports only geo; never the database.
"""
