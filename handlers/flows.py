"""The table of every flow, and the commands that act at once.

The table's order is the order of the main menu's buttons and of a channel's command menu; the command
table, the menus, the help and the steps where a command may interrupt are derived from the flows'
declarations (``handlers.flow.Flow``).

Registering one's own family asks the family consent first of a person who consented only to a role
(``handlers.start.family_consent_first``).
"""
from __future__ import annotations

from handlers.birth import BIRTH
from handlers.care_views import IMMUNIZATION, SCHEDULE
from handlers.chart_view import CHART
from handlers.help import catat_help
from handlers.kader import join_as_kader, join_as_staff
from handlers.link import allow, join_family, refuse
from handlers.reminder_settings import REMINDER_SETTINGS
from handlers.visit import VISIT, undo_last_visit
from handlers.erase import ERASE
from handlers.family import FAMILY
from handlers.flow import REGISTRY, Flow, register
from handlers.history import HISTORY
from handlers.language import LANGUAGE, language_from_text
from handlers.menu import MENU
from handlers.posyandu_days import POSYANDU_DAYS
from handlers.referrals import REFERRALS
from handlers.register import REGISTER, REGISTER_OTHER
from handlers.register_import import REGISTER_IMPORT, apply_command, cancel_command
from handlers.report import EXPORT, REPORT
from handlers.satusehat import SATUSEHAT
from handlers.staff import BROADCAST, INVITE
from handlers.status import STATUS
from handlers.start import START, family_consent_first
from handlers.targets import TARGETS
from handlers.web_link import WEB

register(START, MENU,
         VISIT, TARGETS, REPORT, REFERRALS, EXPORT, REGISTER_IMPORT, BROADCAST, STATUS, SATUSEHAT, POSYANDU_DAYS, INVITE, WEB, REGISTER_OTHER,  # work
         family_consent_first(REGISTER), SCHEDULE, IMMUNIZATION, FAMILY, HISTORY, REMINDER_SETTINGS, BIRTH, CHART,
         LANGUAGE, ERASE)
FLOWS: dict[str, Flow] = REGISTRY

#: Commands that act at once and then return to the question the person was at.
INSTANT = {"kader_join": join_as_kader, "staff_join": join_as_staff, "family_join": join_family, "undo": undo_last_visit,
           "help_catat": catat_help, "link_allow": allow, "link_refuse": refuse,
           "import_apply": apply_command, "import_cancel": cancel_command}

__all__ = ["FLOWS", "INSTANT", "language_from_text"]
