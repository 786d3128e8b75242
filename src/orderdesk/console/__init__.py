"""The operator console at ``/console``: pages for the people who run the business.

It is a client of the core like the dialects are: every change goes through the core's services
(and so through the order lifecycle's transition table), recorded with the operator's name.
"""
