"""Records use cases, one module each, composed into the one object the entrypoints call:

- `deals`: create, the card, the board, lists, history, edit, delete, restore;
- `clients`: the same for clients, and the countries a phone number may be from;
- `tasks`: task types, tasks one by one or in batches (a key per task), edits, deletes, lists (overdue, today
  in the company's time zone, upcoming), the companies' time zones;
- `notes`: notes on deals and clients (entries of their timelines), edited or deleted by author or admin;
- `reports`: a deal funnel's stages in a period and the team's results, over the read model `report_feed`
  keeps from records' own deal events;
- `languages`: the built-in task types named in the company's language;
- `responsibility`: bulk changes of the responsible user (F16) and a client's cascade;
- `stage_moves`: records moved out of a stage an admin removed (pipeline's `FunnelChanged`);
- `deactivation`: a deactivated user's open deals, clients and tasks handed over (identity's `UserDeactivated`);
- `kinds`: deals and clients side by side (one table of what differs), their event snapshots, TOPICS;
- `writes`: the shared write path (lookups, locked edits, history, autonumbers, counters, saving under
  the stage rules with the events, soft delete, idempotent creates), in units of work (`crm_platform.uow`).
"""

from __future__ import annotations

from crm_records.service_layer.clients import ClientUseCases
from crm_records.service_layer.deactivation import Deactivations
from crm_records.service_layer.deals import DealUseCases
from crm_records.service_layer.kinds import TOPICS  # noqa: F401 - the topics records publishes to
from crm_records.service_layer.notes import NoteUseCases
from crm_records.service_layer.reports import ReportUseCases
from crm_records.service_layer.languages import TaskTypeNames
from crm_records.service_layer.stage_moves import StageMoves
from crm_records.service_layer.tasks import NewTask, TaskUseCases  # noqa: F401 - NewTask: CreateTask(s)' input


class RecordsService(DealUseCases, ClientUseCases, TaskTypeNames, TaskUseCases, NoteUseCases, ReportUseCases,
                     StageMoves, Deactivations):
    """The records use cases over one database."""
