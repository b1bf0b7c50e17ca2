"""The rules of a case, decided once and without Telegram.

``casework`` owns what may happen to a case (its status, the person's presence in a counsellor
chat, blocks, crisis escalation, who may act) exactly as ``flows`` owns conversation steps: it
imports neither ``telegram`` nor ``bot``, takes the store and a clock, and returns effects that
one module in ``bot/`` delivers.
"""
