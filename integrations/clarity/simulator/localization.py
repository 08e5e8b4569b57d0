"""Localization strings served by `GET /webapi/api/v2/resources/dashboard/localization/{locale}`.

The vendor document only shows the shape: a flat dictionary of keys to translated strings, with
three keys per metric (`name`, `nameDescription`, `nameShort`). The dashboard uses it to label
metric columns, agent statuses, session statuses, modalities and away reason codes.

en-us is derived from the metric catalogue, so a metric added there is labelled in English at
once. fr-fr and de-de are hand-written tables; a key they lack falls back to English, so a new
metric never shows up as a raw key, and tests/integrations/clarity/simulator/test_localization.py
fails until someone writes the translation.
"""

from __future__ import annotations

from .catalogue import Metric, all_metrics

LOCALES: tuple[str, ...] = ("en-us", "fr-fr", "de-de")

# Column headers in the dashboard have room for about this many characters.
SHORT_MAX = 14

# Suffixes of the three keys each metric has, as in the vendor's sample
# ("abandonedAfterSLACount", "abandonedAfterSLACountDescription", "abandonedAfterSLACountShort").
DESCRIPTION_SUFFIX = "Description"
SHORT_SUFFIX = "Short"

# (label, description, short label) per metric name.
Strings = tuple[str, str, str]


# --- en-us -------------------------------------------------------------------------------------

# Agent and queue metrics share some names (answeredCount, completedCount, ...) but the
# dictionary has one entry per name, so where the two catalogue descriptions differ the English
# text must fit both: "Sessions the agent answered today" would be wrong under a queue column.
_EN_SHARED_DESCRIPTIONS: dict[str, str] = {
    "answeredCount": "Sessions answered today",
    "completedCount": "Sessions completed today",
    "currentlyActiveCount": "Sessions in progress now (active, on hold or in after-call work)",
    "transferredCount": "Sessions transferred away today",
    "averageHandleTime": "Average handle time today (ms)",
}

# Short labels for metrics whose catalogue label does not fit a column header (or would read
# badly next to its siblings). Every other metric uses its label as its short label.
_EN_SHORT: dict[str, str] = {
    "averageHandleTime": "Avg handle",
    "longestHandleTime": "Max handle",
    "longestTalkTime": "Max talk",
    "longestHoldTime": "Max hold",
    "totalAfterCallTime": "After-call",
    "longestAfterCallTime": "Max after-call",
    "directInboundCallCount": "Direct in",
    "directOutboundCallCount": "Direct out",
    "closedTodayMessageCount": "Msgs closed",
    "afterCallTime": "After-call",
    "directInboundTime": "Direct in time",
    "directOutboundTime": "Dir. out time",
    "longestQueuedStartTime": "Oldest since",
    "answeredBeforeSLACount": "Ans. in SLA",
    "answeredAfterSLACount": "Ans. after SLA",
    "abandonedBeforeSLACount": "Abd. in SLA",
    "abandonedAfterSLACount": "Abd. after SLA",
    "serviceLevelBase": "SL base",
    "longestWaitTime": "Max wait today",
    "averageAbandonTime": "Avg abd. wait",
    "agentsAvailable": "Agents avail.",
    "estimatedWaitTime": "Est. wait",
}

_EN_OTHER: dict[str, str] = {
    # Modalities: the metric and session bag keys.
    "audio": "Audio",
    "instantMessage": "Instant Message",
    "message": "Message",
    "agnostic": "All Modalities",
    # Connect Agent Status values (camel case, as the API sends them).
    "agentStatus.available": "Available",
    "agentStatus.inCall": "In Call",
    # The API calls it Unavailable; the vendor's own text and the dashboard call it Away.
    "agentStatus.unavailable": "Away",
    "agentStatus.unknown": "Unknown",
    "agentStatus.afterCall": "After Call",
    "agentStatus.loggedOut": "Logged Out",
    "agentStatus.offPhoneActivity": "Off-Phone Activity",
    "agentStatus.ringOnNoAnswer": "Ring on No Answer",
    "agentStatus.busy": "Busy",
    "agentStatus.beRightBack": "Be Right Back",
    "agentStatus.directCall": "Direct Call",
    "agentStatus.inactive": "Inactive",
    "agentStatus.inImCall": "In IM Session",
    "agentStatus.directInboundDial": "Direct Inbound Call",
    "agentStatus.directOutboundDial": "Direct Outbound Call",
    "agentStatus.atLunch": "At Lunch",
    "agentStatus.offWork": "Off Work",
    "agentStatus.conferenceCall": "Conference Call",
    "agentStatus.ringing": "Ringing",
    # Model Session sessionStatus values, spelt exactly as the API sends them (Pascal case),
    # so a client can look up "sessionStatus." + session["sessionStatus"] directly.
    "sessionStatus.New": "New",
    "sessionStatus.Queued": "Queued",
    "sessionStatus.Active": "Active",
    "sessionStatus.Completed": "Completed",
    "sessionStatus.Connected": "Connected",
    "sessionStatus.Terminating": "Terminating",
    "sessionStatus.Abandoned": "Abandoned",
    "sessionStatus.CallingCustomer": "Calling Customer",
    "sessionStatus.Transferred": "Transferred",
    "sessionStatus.AfterCall": "After Call",
    "sessionStatus.NotifyingAgent": "Notifying Agent",
    "sessionStatus.CompletedAfterHours": "Completed After Hours",
    "sessionStatus.DirectInboundDial": "Direct Inbound Call",
    "sessionStatus.DirectOutboundDial": "Direct Outbound Call",
    "sessionStatus.ReEnqueued": "Re-queued",
    "sessionStatus.ActiveImOnly": "Active (IM Only)",
    # Away reason codes the simulator uses (model.REASON_CODES).
    "reasonCode.onBreak": "On Break",
    "reasonCode.atLunch": "At Lunch",
    "reasonCode.meeting": "Meeting",
    "reasonCode.training": "Training",
    "reasonCode.coaching": "Coaching",
    "reasonCode.personal": "Personal",
    "reasonCode.systemIssue": "System Issue",
}


def _short(label: str) -> str:
    """A label cut to fit a column header; only used for a metric nobody gave a short label yet."""
    if len(label) <= SHORT_MAX:
        return label
    return label[: SHORT_MAX - 1].rstrip() + "\u2026"


def english_metric_strings() -> dict[str, Strings]:
    """en-us (label, description, short) per distinct metric name, from the catalogue."""
    by_name: dict[str, list[Metric]] = {}
    for metric in all_metrics():
        by_name.setdefault(metric.name, []).append(metric)
    strings: dict[str, Strings] = {}
    for name, metrics in by_name.items():
        # Catalogue order lists agent metrics first; a shared name takes its label from there
        # (the labels agree or differ only in emphasis, e.g. "Transferred" / "Transferred out").
        first = metrics[0]
        description = _EN_SHARED_DESCRIPTIONS.get(name, first.description)
        strings[name] = (first.label, description, _EN_SHORT.get(name) or _short(first.label))
    return strings


# --- fr-fr -------------------------------------------------------------------------------------

# "Session" is feminine: count labels that cover sessions agree with it ("Répondues"); queue-only
# counts speak of "contacts" (masculine). DMT (durée moyenne de traitement) is the usual French
# name for average handle time; "post-appel" for after-call work.
_FR_METRICS: dict[str, Strings] = {
    # Agent, per modality.
    "offeredCount": (
        "Proposées", "Sessions proposées à l'agent aujourd'hui", "Proposées"),
    "answeredCount": (
        "Répondues", "Sessions répondues aujourd'hui", "Répondues"),
    "takenCount": (
        "Prises en charge",
        "Sessions dont l'agent est devenu l'agent principal aujourd'hui", "Prises"),
    "ronaCount": (
        "Sans réponse", "Sonneries restées sans réponse aujourd'hui (RONA)", "Sans réponse"),
    "transferredCount": (
        "Transférées", "Sessions transférées ailleurs aujourd'hui", "Transférées"),
    "completedCount": (
        "Terminées", "Sessions terminées aujourd'hui", "Terminées"),
    "currentlyActiveCount": (
        "En cours",
        "Sessions en cours maintenant (actives, en attente ou en post-appel)", "En cours"),
    "heldCount": (
        "Mises en attente",
        "Nombre de mises en attente d'un client aujourd'hui", "Nb mises att."),
    "totalHandleTime": (
        "Durée de traitement", "Durée totale de traitement aujourd'hui (ms)", "Durée trait."),
    "averageHandleTime": (
        "Durée moyenne de traitement", "Durée moyenne de traitement aujourd'hui (ms)", "DMT"),
    "longestHandleTime": (
        "Traitement le plus long",
        "Durée de traitement la plus longue aujourd'hui (ms)", "Trait. max"),
    "totalTalkTime": (
        "Temps de conversation", "Temps total de conversation aujourd'hui (ms)",
        "Conversation"),
    "longestTalkTime": (
        "Conversation la plus longue", "Conversation la plus longue aujourd'hui (ms)",
        "Conv. max"),
    "totalHoldTime": (
        "Durée de mise en attente", "Durée totale de mise en attente aujourd'hui (ms)",
        "Tps mise att."),
    "longestHoldTime": (
        "Mise en attente la plus longue",
        "Mise en attente la plus longue aujourd'hui (ms)", "Mise att. max"),
    "totalAfterCallTime": (
        "Durée post-appel", "Durée totale de travail post-appel aujourd'hui (ms)",
        "Post-appel"),
    "longestAfterCallTime": (
        "Post-appel le plus long", "Durée de post-appel la plus longue (ms)",
        "Post-appel max"),
    "directInboundCallCount": (
        "Appels directs entrants", "Appels directs entrants aujourd'hui", "Directs entr."),
    "directOutboundCallCount": (
        "Appels directs sortants", "Appels directs sortants aujourd'hui", "Directs sort."),
    "closedTodayMessageCount": (
        "Messages clôturés", "Messages clôturés aujourd'hui", "Msg clôturés"),
    # Agent, all modalities ({total, average, count} of status periods).
    "availableTime": (
        "Temps disponible", "Temps passé à l'état disponible aujourd'hui", "Disponible"),
    "awayTime": (
        "Temps d'absence", "Temps passé à l'état absent aujourd'hui", "Absence"),
    "afterCallTime": (
        "Temps de post-appel", "Temps passé en post-appel aujourd'hui", "Post-appel"),
    "inCallTime": (
        "Temps en session", "Temps passé en session aujourd'hui", "En session"),
    "ringingTime": (
        "Temps de sonnerie", "Temps passé à sonner aujourd'hui", "Sonnerie"),
    "directInboundTime": (
        "Temps en appels directs entrants", "Temps passé en appels directs entrants",
        "Tps dir. entr."),
    "directOutboundTime": (
        "Temps en appels directs sortants", "Temps passé en appels directs sortants",
        "Tps dir. sort."),
    "loggedInTime": (
        "Temps connecté", "Temps passé connecté aujourd'hui", "Connecté"),
    # Queue.
    "enteredCount": (
        "Entrés", "Contacts entrés dans la file aujourd'hui", "Entrés"),
    "queuedCount": (
        "En attente", "Contacts en attente maintenant", "En attente"),
    "longestQueuedTime": (
        "Attente la plus longue", "Attente actuelle la plus longue (ms)", "Attente max"),
    "longestQueuedStartTime": (
        "Plus ancien en attente depuis",
        "Heure d'entrée dans la file du contact qui attend depuis le plus longtemps",
        "Attend depuis"),
    "answeredBeforeSLACount": (
        "Répondus dans le SLA",
        "Contacts répondus dans le seuil de niveau de service aujourd'hui", "Rép. dans SLA"),
    "answeredAfterSLACount": (
        "Répondus hors SLA",
        "Contacts répondus après le seuil de niveau de service aujourd'hui", "Rép. hors SLA"),
    "abandonedCount": (
        "Abandonnés", "Contacts abandonnés aujourd'hui", "Abandonnés"),
    "abandonedBeforeSLACount": (
        "Abandonnés dans le SLA",
        "Contacts abandonnés dans le seuil de niveau de service aujourd'hui", "Abd. dans SLA"),
    "abandonedAfterSLACount": (
        "Abandonnés hors SLA",
        "Contacts abandonnés après le seuil de niveau de service aujourd'hui", "Abd. hors SLA"),
    "serviceLevel": (
        "Niveau de service", "Niveau de service aujourd'hui (%)", "Niv. service"),
    "serviceLevelBase": (
        "Base du niveau de service",
        "Contacts pris en compte par le niveau de service aujourd'hui", "Base SLA"),
    "serviceLevelThreshold": (
        "Seuil SLA", "Seuil de niveau de service (s)", "Seuil SLA"),
    "totalWaitTime": (
        "Temps d'attente", "Attente totale des contacts répondus aujourd'hui (ms)",
        "Tps attente"),
    "averageWaitTime": (
        "Attente moyenne", "Attente moyenne des contacts répondus (ms)", "Attente moy."),
    "longestWaitTime": (
        "Attente max. du jour", "Attente la plus longue aujourd'hui (ms)", "Att. max jour"),
    "totalAbandonTime": (
        "Attente avant abandon", "Attente totale des contacts abandonnés (ms)",
        "Att. abandons"),
    "averageAbandonTime": (
        "Attente moy. avant abandon", "Attente moyenne avant abandon (ms)", "Moy. abandon"),
    "agentsOnline": (
        "Agents connectés", "Agents connectés pour la file", "Ag. connectés"),
    "agentsAvailable": (
        "Agents disponibles", "Agents prêts à prendre un contact de la file", "Ag. dispo."),
    "agentsOnSessions": (
        "Agents occupés", "Agents en session", "Ag. occupés"),
    "agentsAway": (
        "Agents absents", "Agents à l'état absent", "Ag. absents"),
    "estimatedWaitTime": (
        "Attente estimée", "Attente estimée pour un nouveau contact (s)", "Att. estimée"),
}

_FR_OTHER: dict[str, str] = {
    "audio": "Audio",
    "instantMessage": "Messagerie instantanée",
    "message": "Message",
    "agnostic": "Toutes modalités",
    "agentStatus.available": "Disponible",
    "agentStatus.inCall": "En appel",
    "agentStatus.unavailable": "Absent",
    "agentStatus.unknown": "Inconnu",
    "agentStatus.afterCall": "Post-appel",
    "agentStatus.loggedOut": "Déconnecté",
    "agentStatus.offPhoneActivity": "Activité hors téléphone",
    "agentStatus.ringOnNoAnswer": "Sonnerie sans réponse",
    "agentStatus.busy": "Occupé",
    "agentStatus.beRightBack": "De retour dans un instant",
    "agentStatus.directCall": "Appel direct",
    "agentStatus.inactive": "Inactif",
    "agentStatus.inImCall": "En messagerie instantanée",
    "agentStatus.directInboundDial": "Appel direct entrant",
    "agentStatus.directOutboundDial": "Appel direct sortant",
    "agentStatus.atLunch": "En pause déjeuner",
    "agentStatus.offWork": "Fin de service",
    "agentStatus.conferenceCall": "Conférence téléphonique",
    "agentStatus.ringing": "Sonnerie en cours",
    "sessionStatus.New": "Nouvelle",
    "sessionStatus.Queued": "En file d'attente",
    "sessionStatus.Active": "En cours",
    "sessionStatus.Completed": "Terminée",
    "sessionStatus.Connected": "Connectée",
    "sessionStatus.Terminating": "Fin en cours",
    "sessionStatus.Abandoned": "Abandonnée",
    "sessionStatus.CallingCustomer": "Appel vers le client",
    "sessionStatus.Transferred": "Transférée",
    "sessionStatus.AfterCall": "Post-appel",
    "sessionStatus.NotifyingAgent": "Notification de l'agent",
    "sessionStatus.CompletedAfterHours": "Terminée hors horaires",
    "sessionStatus.DirectInboundDial": "Appel direct entrant",
    "sessionStatus.DirectOutboundDial": "Appel direct sortant",
    "sessionStatus.ReEnqueued": "Remise en file d'attente",
    "sessionStatus.ActiveImOnly": "En cours (messagerie instantanée seule)",
    "reasonCode.onBreak": "En pause",
    "reasonCode.atLunch": "Pause déjeuner",
    "reasonCode.meeting": "Réunion",
    "reasonCode.training": "Formation",
    "reasonCode.coaching": "Coaching",
    "reasonCode.personal": "Motif personnel",
    "reasonCode.systemIssue": "Problème système",
}


# --- de-de -------------------------------------------------------------------------------------

# German contact-centre usage: Bearbeitungszeit (handle time), Nachbearbeitung (after-call
# work), Halten (hold), Warteschlange (queue), Abbruch/abgebrochen (abandon), "Ø" for average.
_DE_METRICS: dict[str, Strings] = {
    # Agent, per modality.
    "offeredCount": (
        "Angeboten", "Dem Agenten heute angebotene Sitzungen", "Angeboten"),
    "answeredCount": (
        "Angenommen", "Heute angenommene Sitzungen", "Angenommen"),
    "takenCount": (
        "Übernommen", "Sitzungen, bei denen der Agent heute Hauptagent wurde", "Übernommen"),
    "ronaCount": (
        "Nicht angenommen", "Heute nicht angenommene Angebote (Klingeln ohne Annahme)",
        "Nicht angen."),
    "transferredCount": (
        "Weitergeleitet", "Heute weitergeleitete Sitzungen", "Weitergeleitet"),
    "completedCount": (
        "Abgeschlossen", "Heute abgeschlossene Sitzungen", "Abgeschlossen"),
    "currentlyActiveCount": (
        "Aktuell aktiv",
        "Derzeit laufende Sitzungen (aktiv, gehalten oder in Nachbearbeitung)", "Aktiv"),
    "heldCount": (
        "Haltevorgänge", "Wie oft heute ein Kunde auf Halten gelegt wurde", "Haltevorgänge"),
    "totalHandleTime": (
        "Bearbeitungszeit", "Gesamte Bearbeitungszeit heute (ms)", "Bearb.-zeit"),
    "averageHandleTime": (
        "Ø Bearbeitungszeit", "Durchschnittliche Bearbeitungszeit heute (ms)", "Ø Bearb.-zeit"),
    "longestHandleTime": (
        "Längste Bearbeitungszeit", "Längste Bearbeitungszeit heute (ms)", "Max. Bearb."),
    "totalTalkTime": (
        "Gesprächszeit", "Gesamte Gesprächszeit heute (ms)", "Gesprächszeit"),
    "longestTalkTime": (
        "Längste Gesprächszeit", "Längste Gesprächszeit heute (ms)", "Max. Gespräch"),
    "totalHoldTime": (
        "Haltezeit", "Gesamte Haltezeit heute (ms)", "Haltezeit"),
    "longestHoldTime": (
        "Längste Haltezeit", "Längste Haltezeit heute (ms)", "Max. Halten"),
    "totalAfterCallTime": (
        "Nachbearbeitungszeit", "Gesamte Nachbearbeitungszeit heute (ms)", "Nachbearb."),
    "longestAfterCallTime": (
        "Längste Nachbearbeitung", "Längste Nachbearbeitungszeit heute (ms)", "Max. Nachb."),
    "directInboundCallCount": (
        "Direkt eingehend", "Direkte eingehende Anrufe heute", "Direkt eing."),
    "directOutboundCallCount": (
        "Direkt ausgehend", "Direkte ausgehende Anrufe heute", "Direkt ausg."),
    "closedTodayMessageCount": (
        "Geschlossene Nachrichten", "Heute geschlossene Nachrichten", "Nachr. geschl."),
    # Agent, all modalities ({total, average, count} of status periods).
    "availableTime": (
        "Verfügbare Zeit", "Zeit im Status Verfügbar heute", "Verfügbar"),
    "awayTime": (
        "Abwesenheitszeit", "Zeit im Status Abwesend heute", "Abwesend"),
    "afterCallTime": (
        "Nachbearbeitungszeit", "Zeit in Nachbearbeitung heute", "Nachbearb."),
    "inCallTime": (
        "Zeit in Sitzungen", "Heute in Sitzungen verbrachte Zeit", "In Sitzung"),
    "ringingTime": (
        "Klingelzeit", "Zeit im Status Klingelt heute", "Klingelzeit"),
    "directInboundTime": (
        "Zeit direkt eingehend", "Zeit in direkten eingehenden Anrufen", "Zeit dir. ein"),
    "directOutboundTime": (
        "Zeit direkt ausgehend", "Zeit in direkten ausgehenden Anrufen", "Zeit dir. aus"),
    "loggedInTime": (
        "Angemeldete Zeit", "Heute angemeldet verbrachte Zeit", "Angemeldet"),
    # Queue.
    "enteredCount": (
        "Eingegangen", "Heute in die Warteschlange eingegangene Kontakte", "Eingegangen"),
    "queuedCount": (
        "Wartend", "Derzeit wartende Kontakte", "Wartend"),
    "longestQueuedTime": (
        "Längste Wartezeit", "Längste aktuelle Wartezeit (ms)", "Max. Wartezeit"),
    "longestQueuedStartTime": (
        "Ältester wartet seit",
        "Zeitpunkt, zu dem der am längsten wartende Kontakt in die Warteschlange kam",
        "Wartet seit"),
    "answeredBeforeSLACount": (
        "Angenommen in SLA",
        "Heute innerhalb der Servicelevel-Schwelle angenommene Kontakte", "Angen. in SLA"),
    "answeredAfterSLACount": (
        "Angenommen nach SLA",
        "Heute nach der Servicelevel-Schwelle angenommene Kontakte", "Angen. n. SLA"),
    "abandonedCount": (
        "Abgebrochen", "Heute abgebrochene Kontakte", "Abgebrochen"),
    "abandonedBeforeSLACount": (
        "Abgebrochen in SLA",
        "Heute innerhalb der Servicelevel-Schwelle abgebrochene Kontakte", "Abgebr. i. SLA"),
    "abandonedAfterSLACount": (
        "Abgebrochen nach SLA",
        "Heute nach der Servicelevel-Schwelle abgebrochene Kontakte", "Abgebr. n. SLA"),
    "serviceLevel": (
        "Servicelevel", "Servicelevel heute (%)", "Servicelevel"),
    "serviceLevelBase": (
        "Servicelevel-Basis", "Heute für das Servicelevel gezählte Kontakte", "SL-Basis"),
    "serviceLevelThreshold": (
        "SLA-Schwelle", "Servicelevel-Schwelle (s)", "SLA-Schwelle"),
    "totalWaitTime": (
        "Wartezeit", "Gesamte Wartezeit angenommener Kontakte heute (ms)", "Wartezeit"),
    "averageWaitTime": (
        "Ø Wartezeit", "Durchschnittliche Wartezeit angenommener Kontakte (ms)", "Ø Wartezeit"),
    "longestWaitTime": (
        "Längste Wartezeit heute", "Längste Wartezeit heute (ms)", "Max. heute"),
    "totalAbandonTime": (
        "Wartezeit bis Abbruch", "Gesamte Wartezeit abgebrochener Kontakte (ms)",
        "Wartez. Abbr."),
    "averageAbandonTime": (
        "Ø Wartezeit bis Abbruch", "Durchschnittliche Wartezeit bis zum Abbruch (ms)",
        "Ø bis Abbruch"),
    "agentsOnline": (
        "Agenten angemeldet", "Für die Warteschlange angemeldete Agenten", "Ag. angemeld."),
    "agentsAvailable": (
        "Agenten verfügbar", "Für die Warteschlange bereite Agenten", "Ag. verfügbar"),
    "agentsOnSessions": (
        "Agenten beschäftigt", "Agenten in einer Sitzung", "Ag. beschäft."),
    "agentsAway": (
        "Agenten abwesend", "Agenten im Status Abwesend", "Ag. abwesend"),
    "estimatedWaitTime": (
        "Geschätzte Wartezeit", "Geschätzte Wartezeit für einen neuen Kontakt (s)",
        "Gesch. Wartez."),
}

_DE_OTHER: dict[str, str] = {
    "audio": "Audio",
    "instantMessage": "Chat",
    "message": "Nachricht",
    "agnostic": "Alle Modalitäten",
    "agentStatus.available": "Verfügbar",
    "agentStatus.inCall": "Im Gespräch",
    "agentStatus.unavailable": "Abwesend",
    "agentStatus.unknown": "Unbekannt",
    "agentStatus.afterCall": "Nachbearbeitung",
    "agentStatus.loggedOut": "Abgemeldet",
    "agentStatus.offPhoneActivity": "Tätigkeit ohne Telefon",
    "agentStatus.ringOnNoAnswer": "Klingeln ohne Annahme",
    "agentStatus.busy": "Beschäftigt",
    "agentStatus.beRightBack": "Bin gleich zurück",
    "agentStatus.directCall": "Direktanruf",
    "agentStatus.inactive": "Inaktiv",
    "agentStatus.inImCall": "Im Chat",
    "agentStatus.directInboundDial": "Direkter eingehender Anruf",
    "agentStatus.directOutboundDial": "Direkter ausgehender Anruf",
    "agentStatus.atLunch": "In der Mittagspause",
    "agentStatus.offWork": "Feierabend",
    "agentStatus.conferenceCall": "Telefonkonferenz",
    "agentStatus.ringing": "Klingelt",
    "sessionStatus.New": "Neu",
    "sessionStatus.Queued": "In Warteschlange",
    "sessionStatus.Active": "Aktiv",
    "sessionStatus.Completed": "Abgeschlossen",
    "sessionStatus.Connected": "Verbunden",
    "sessionStatus.Terminating": "Wird beendet",
    "sessionStatus.Abandoned": "Abgebrochen",
    "sessionStatus.CallingCustomer": "Kunde wird angerufen",
    "sessionStatus.Transferred": "Weitergeleitet",
    "sessionStatus.AfterCall": "Nachbearbeitung",
    "sessionStatus.NotifyingAgent": "Agent wird benachrichtigt",
    "sessionStatus.CompletedAfterHours": "Außerhalb der Geschäftszeiten beendet",
    "sessionStatus.DirectInboundDial": "Direkter eingehender Anruf",
    "sessionStatus.DirectOutboundDial": "Direkter ausgehender Anruf",
    "sessionStatus.ReEnqueued": "Erneut in Warteschlange",
    "sessionStatus.ActiveImOnly": "Aktiv (nur Chat)",
    "reasonCode.onBreak": "Pause",
    "reasonCode.atLunch": "Mittagspause",
    "reasonCode.meeting": "Besprechung",
    "reasonCode.training": "Schulung",
    "reasonCode.coaching": "Coaching",
    "reasonCode.personal": "Persönlich",
    "reasonCode.systemIssue": "Systemproblem",
}


# Explicit translation tables by locale: (metric strings, other strings). en-us has none: it is
# built from the catalogue and is the fallback for whatever a table lacks.
TRANSLATIONS: dict[str, tuple[dict[str, Strings], dict[str, str]]] = {
    "fr-fr": (_FR_METRICS, _FR_OTHER),
    "de-de": (_DE_METRICS, _DE_OTHER),
}


def dictionary(locale: str) -> dict[str, str] | None:
    """The localization dictionary for `locale` (e.g. "en-us", "FR-FR"), None if unknown.

    Only the exact locale key is accepted, in any case: "en_US" or "en" are unknown (404), as
    the vendor maps the path segment straight to a Locale.LocaleKey column.
    """
    key = locale.lower()
    if key not in LOCALES:
        return None
    metrics = english_metric_strings()
    other = dict(_EN_OTHER)
    if key in TRANSLATIONS:
        translated_metrics, translated_other = TRANSLATIONS[key]
        # Overlay, never replace: a key the table lacks keeps its English text.
        metrics = {name: translated_metrics.get(name, en) for name, en in metrics.items()}
        other = {name: translated_other.get(name, en) for name, en in other.items()}
    result: dict[str, str] = dict(other)
    for name, (label, description, short) in metrics.items():
        result[name] = label
        result[name + DESCRIPTION_SUFFIX] = description
        result[name + SHORT_SUFFIX] = short
    # Sorted like the vendor's sample, so the JSON reads (and diffs) predictably.
    return dict(sorted(result.items()))
