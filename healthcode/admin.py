"""Nothing of the health codes is in the Django admin, on purpose (issue #11).

A colour and its reasons are computed (healthcode.services.recompute) from what they rest on; a
code, its history or a withdrawn reason edited by hand would turn someone red or green without a
recorded case. cases/tests/test_legal_basis.py checks that the admin has no page for them.
"""
