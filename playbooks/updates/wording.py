"""The stage of an incident in plain words, in each language clients read."""
from playbooks.models import STATE_LABELS

STAGE_WORDS = {
    "en": {
        "investigating": "We are investigating", "identified": "We have found the cause",
        "monitoring": "A fix is in place and we are watching it", "resolved": "Resolved",
        "assessing": "We are assessing the situation", "announced": "Recall announced",
        "remedy_available": "A remedy is available", "remedy_in_progress": "The remedy is under way",
        "completed": "Recall completed", "authority_notified": "The authorities have been notified",
        "clients_notified": "Clients have been notified", "remediating": "We are putting things right",
        "debriefing": "Resolved", "closed": "Closed",
    },
    "de": {
        "investigating": "Wir untersuchen das Problem", "identified": "Die Ursache ist gefunden",
        "monitoring": "Eine Korrektur ist aktiv, wir überwachen sie", "resolved": "Behoben",
        "assessing": "Wir bewerten die Lage", "announced": "Rückruf angekündigt",
        "remedy_available": "Eine Abhilfe ist verfügbar", "remedy_in_progress": "Die Abhilfe läuft",
        "completed": "Rückruf abgeschlossen", "authority_notified": "Die Behörden sind informiert",
        "clients_notified": "Kunden sind informiert", "remediating": "Wir beheben die Folgen",
        "debriefing": "Behoben", "closed": "Abgeschlossen",
    },
    "fr": {
        "investigating": "Nous recherchons la cause", "identified": "La cause est identifiée",
        "monitoring": "Un correctif est en place et sous surveillance", "resolved": "Résolu",
        "assessing": "Nous évaluons la situation", "announced": "Rappel annoncé",
        "remedy_available": "Une solution est disponible", "remedy_in_progress": "La solution est en cours",
        "completed": "Rappel terminé", "authority_notified": "Les autorités sont informées",
        "clients_notified": "Les clients sont informés", "remediating": "Nous corrigeons la situation",
        "debriefing": "Résolu", "closed": "Clos",
    },
    "es": {
        "investigating": "Estamos investigando", "identified": "Hemos encontrado la causa",
        "monitoring": "Hay una solución activa y la vigilamos", "resolved": "Resuelto",
        "assessing": "Estamos evaluando la situación", "announced": "Retirada anunciada",
        "remedy_available": "Hay una solución disponible", "remedy_in_progress": "La solución está en marcha",
        "completed": "Retirada completada", "authority_notified": "Hemos informado a las autoridades",
        "clients_notified": "Hemos informado a los clientes", "remediating": "Estamos corrigiendo la situación",
        "debriefing": "Resuelto", "closed": "Cerrado",
    },
    "pt-br": {
        "investigating": "Estamos investigando", "identified": "Encontramos a causa",
        "monitoring": "Uma correção está ativa e estamos acompanhando", "resolved": "Resolvido",
        "assessing": "Estamos avaliando a situação", "announced": "Recolhimento anunciado",
        "remedy_available": "Uma solução está disponível", "remedy_in_progress": "A solução está em andamento",
        "completed": "Recolhimento concluído", "authority_notified": "As autoridades foram notificadas",
        "clients_notified": "Os clientes foram notificados", "remediating": "Estamos corrigindo a situação",
        "debriefing": "Resolvido", "closed": "Encerrado",
    },
    "ja": {
        "investigating": "原因を調査中です", "identified": "原因を特定しました",
        "monitoring": "修正を適用し、監視中です", "resolved": "解決済み",
        "assessing": "状況を確認中です", "announced": "リコールを公表しました",
        "remedy_available": "対応策をご用意しました", "remedy_in_progress": "対応を実施中です",
        "completed": "リコールは完了しました", "authority_notified": "当局へ報告済みです",
        "clients_notified": "お客様へ通知済みです", "remediating": "是正対応中です",
        "debriefing": "解決済み", "closed": "終了",
    },
}


def stage_words(state, language):
    words = STAGE_WORDS.get(language) or STAGE_WORDS["en"]
    return words.get(state) or STAGE_WORDS["en"].get(state) or STATE_LABELS.get(state, state)
