"""Nothing of the four-category register is in the Django admin, on purpose (issue #11).

A person's category (PersonStatus) changes only through cases.services, which demands a legal
basis for every staff decision; the history (CategoryEvent) is append-only. Registering either here
would open a way round both. Auditors read the decisions at /cases/decisions/ (read-logged);
cases/tests/test_legal_basis.py checks that the admin has no page for them.
"""
