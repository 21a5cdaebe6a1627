"""The kinds of questions about one application: their phrasings and their answer sentences.

A :class:`QuestionType` has at least five training phrasings and two held out for the test
split, three answer phrasings (one per split, so no answer text is shared between splits), the
extractor of its fact (:mod:`ingestion.facts`) and the record sections that hold it. The dataset
generator, the exact field answers and the evaluation all read :data:`QUESTION_TYPES`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ingestion import facts
from ingestion.facts import Fact
from ingestion.records import AppRecord


@dataclass(frozen=True)
class QuestionType:
    """One kind of question about a single application.

    Templates use ``{app}`` for the application's name (short, or long when ``long_name_ok``);
    answers use ``{name}`` (always the short name) and the slots returned by ``extract``.
    """

    name: str
    templates: tuple[str, ...]
    test_templates: tuple[str, ...]
    answers: tuple[str, str, str]
    extract: Callable[[AppRecord], Fact | None]
    sections: tuple[str, ...]
    difficulty: str = "easy"
    long_name_ok: bool = True
    # The labels of the facts lines that hold the answer ("Statut"), when its sections hold others
    # too; empty: every line of the sections. What the generator is given about a named application.
    labels: tuple[str, ...] = ()

    def answer_for(self, record: AppRecord, variant: int = 0) -> tuple[str, list[str]] | None:
        """(answer, facts) for this record, or None when the record does not hold the value."""
        fact = self.extract(record)
        if fact is None:
            return None
        return self.answers[variant].format(name=record.nom, **fact.slots), fact.facts


QUESTION_TYPES: list[QuestionType] = [
    QuestionType(
        "status",
        (
            "Quel est le statut de l'application {app} ?",
            "L'application {app} est-elle en production ?",
            "{app}, c'est en prod ou pas ?",
            "quel est le statut de {app}",
            "Pourriez-vous m'indiquer le statut SI de {app}, s'il vous plaît ?",
            "Quel est l'etat de l'application {app} ?",
            "statu de l'appli {app} ?",
        ),
        ("Où en est l'application {app} aujourd'hui ?", "Dans quel état se trouve {app} actuellement ?"),
        (
            "Le statut de {name} est « {statut} ».",
            "{name} est actuellement au statut « {statut} ».",
            "D'après le catalogue, {name} a le statut « {statut} ».",
        ),
        facts.scalar("statut", "statut"),
        ("overview",),
        labels=("Statut",),
    ),
    QuestionType(
        "full_name",
        (
            "Quel est le nom complet de {app} ?",
            "Que signifie {app} ?",
            "{app}, ça veut dire quoi ?",
            "Quel est le nom long de l'application {app} ?",
            "que veut dire le sigle {app}",
            "Pourriez-vous me donner l'intitule complet de {app} ?",
            "nom complet de {app} svp",
        ),
        ("Quelle est la signification de l'acronyme {app} ?", "Comment s'appelle {app} en toutes lettres ?"),
        (
            "Le nom complet de {name} est « {nom_long} ».",
            "{name} signifie « {nom_long} ».",
            "Le nom long de {name} est « {nom_long} ».",
        ),
        facts.full_name,
        ("overview",),
        long_name_ok=False,
        labels=("Nom long",),
    ),
    QuestionType(
        "identifier",
        (
            "Quel est l'identifiant de {app} ?",
            "Quel est l'id de l'application {app} ?",
            "{app} a quel numéro dans le catalogue ?",
            "quel est l'identifiant catalogue de {app}",
            "Pourriez-vous me communiquer l'identifiant de l'application {app} ?",
            "identifiant de {app} ?",
            "Quel est le code identifiant de {app} ?",
        ),
        ("Sous quel identifiant {app} est-elle référencée ?", "Quel numéro d'identification porte {app} dans le catalogue ?"),
        (
            "L'identifiant de {name} dans le catalogue est {id}.",
            "{name} porte l'identifiant {id}.",
            "Dans le catalogue, {name} a pour identifiant {id}.",
        ),
        facts.identifier,
        ("overview",),
        labels=("Identifiant",),
    ),
    QuestionType(
        "scope",
        (
            "Quelle est la portée géographique de {app} ?",
            "{app} est-elle nationale ou locale ?",
            "{app} couvre quel territoire ?",
            "portee geographique de l'appli {app} ?",
            "Pourriez-vous préciser la portée géographique de l'application {app} ?",
            "porté géographique de {app} ?",
        ),
        ("Sur quel périmètre géographique {app} est-elle déployée ?", "À quelle échelle territoriale fonctionne {app} ?"),
        (
            "La portée géographique de {name} est « {portee} ».",
            "{name} a une portée « {portee} ».",
            "Selon le catalogue, la portée de {name} est « {portee} ».",
        ),
        facts.scalar("portee_geographique", "portee"),
        ("overview",),
        labels=("Portée géographique",),
    ),
    QuestionType(
        "family",
        (
            "À quelle famille d'applications appartient {app} ?",
            "Quelle est la famille de {app} ?",
            "{app}, c'est quel type d'appli ?",
            "famille d'application de {app}",
            "Pourriez-vous préciser la famille d'applications de {app} ?",
            "Dans quelle categorie est classee {app} ?",
        ),
        ("Dans quelle famille le catalogue range-t-il {app} ?", "De quelle catégorie d'applications relève {app} ?"),
        (
            "{name} appartient à la famille « {famille} ».",
            "La famille d'applications de {name} est « {famille} ».",
            "Dans le catalogue, {name} est classée dans la famille « {famille} ».",
        ),
        facts.scalar("famille", "famille"),
        ("overview",),
        labels=("Famille d'applications",),
    ),
    QuestionType(
        "domains",
        (
            "À quel domaine métier appartient {app} ?",
            "Quel est le domaine de {app} ?",
            "{app}, c'est dans quel domaine ?",
            "quel domaine metier pour {app}",
            "Pourriez-vous m'indiquer les domaines et sous-domaines métier de {app} ?",
            "domaine metier de l'appli {app} ?",
        ),
        ("De quelle thématique métier relève {app} ?", "Dans quel secteur d'activité du ministère se situe {app} ?"),
        (
            "{name} relève {domaines}.",
            "{name} est rattachée {domaines}.",
            "Dans le catalogue, {name} dépend {domaines}.",
        ),
        facts.domains,
        ("overview",),
        "medium",
        labels=("Domaines métier",),
    ),
    QuestionType(
        "description",
        (
            "À quoi sert {app} ?",
            "Quelle est la description de l'application {app} ?",
            "{app}, ça sert à quoi ?",
            "a quoi sert l'application {app}",
            "Pourriez-vous me décrire brièvement l'application {app} ?",
            "c quoi {app} ?",
            "Que fait {app} ?",
        ),
        ("Quel est le rôle de l'application {app} ?", "Pour quels usages {app} a-t-elle été conçue ?"),
        (
            "{name} : {desc}.",
            "Selon sa fiche, {name} est décrite ainsi : {desc}.",
            "Voici la description de {name} : {desc}.",
        ),
        facts.description,
        ("description",),
        "medium",
    ),
    QuestionType(
        "contacts",
        (
            "Qui contacter pour {app} ?",
            "Quel est le contact de l'application {app} ?",
            "Je dois joindre qqn pour {app}, qui ?",
            "qui est le responsable de {app}",
            "Pourriez-vous m'indiquer l'adresse électronique du contact de {app} ?",
            "Qui est le referent de {app} ?",
            "contact pour {app} svp",
        ),
        ("À qui dois-je m'adresser au sujet de {app} ?", "Quelle personne puis-je solliciter pour une question sur {app} ?"),
        (
            "Pour {name}, contactez {contacts}.",
            "Le contact de {name} est {contacts}.",
            "Au sujet de {name}, vous pouvez joindre {contacts}.",
        ),
        facts.contacts,
        ("contacts",),
        "medium",
    ),
    QuestionType(
        "websites",
        (
            "Quelle est l'adresse du site de {app} ?",
            "Quelle est l'URL de {app} ?",
            "{app}, c'est quoi le lien ?",
            "url de l'application {app}",
            "Pourriez-vous me communiquer l'adresse web de l'application {app} ?",
            "Ou trouver le site de {app} ?",
            "adresse internet de {app} ?",
        ),
        ("Sur quel site web puis-je accéder à {app} ?", "Par quel lien se connecter à {app} ?"),
        (
            "{name} est accessible à l'adresse {sites}.",
            "L'URL de {name} est {sites}.",
            "Vous trouverez {name} à l'adresse {sites}.",
        ),
        facts.websites,
        ("sites",),
        "medium",
    ),
    QuestionType(
        "actors",
        (
            "Qui sont la MOA et la MOE de {app} ?",
            "Quels sont les acteurs de l'application {app} ?",
            "{app}, qui est MOA ?",
            "qui est la maitrise d'ouvrage de {app}",
            "Pourriez-vous m'indiquer la maîtrise d'ouvrage et la maîtrise d'œuvre de {app} ?",
            "Qui porte le projet {app} ?",
            "MOA / MOE de {app} ?",
        ),
        ("Quels services pilotent et réalisent {app} ?", "Quelles entités interviennent sur {app} ?"),
        (
            "Les acteurs de {name} sont : {acteurs}.",
            "Acteurs de {name} : {acteurs}.",
            "Selon le catalogue, les acteurs de {name} sont les suivants : {acteurs}.",
        ),
        facts.actors,
        ("actors",),
        "medium",
    ),
    QuestionType(
        "production_date",
        (
            "Quand {app} a-t-elle été mise en production ?",
            "Quelle est la date de mise en production de {app} ?",
            "{app} est en prod depuis quand ?",
            "date de mise en production de {app}",
            "Pourriez-vous m'indiquer à quelle date l'application {app} a été mise en production ?",
            "{app} a ete deployee en production quand ?",
            "date de MEP de {app} ?",
        ),
        ("Depuis quelle date {app} est-elle ouverte en production ?", "À quelle date {app} a-t-elle été mise en service ?"),
        (
            "{name} a été mise en production le {date}.",
            "La mise en production de {name} date du {date}.",
            "D'après le catalogue, {name} a été mise en service le {date}.",
        ),
        facts.event("Mise en production"),
        ("events",),
        "medium",
        labels=("Mise en production",),
    ),
    QuestionType(
        "creation_date",
        (
            "Quand l'application {app} a-t-elle été créée ?",
            "Quelle est la date de création de {app} ?",
            "{app}, ça date de quand ?",
            "date de creation de {app}",
            "Pourriez-vous me préciser la date de création de l'application {app} ?",
            "Depuis quand {app} existe ?",
            "{app} a été lancé quand ?",
        ),
        ("De quand date le lancement du projet {app} ?", "À quelle date le projet {app} a-t-il démarré ?"),
        (
            "{name} a été créée le {date}.",
            "La création de {name} remonte au {date}.",
            "D'après le catalogue, le projet {name} a été lancé le {date}.",
        ),
        facts.event("Création"),
        ("events",),
        "medium",
        labels=("Création",),
    ),
    QuestionType(
        "related_apps",
        (
            "Quelles applications sont liées à {app} ?",
            "Avec quelles applications {app} échange-t-elle des données ?",
            "{app} est connectée à quoi ?",
            "applications liees a {app}",
            "Pourriez-vous lister les applications en lien avec {app} ?",
            "Quelles sont les applis reliées à {app} ?",
            "interfaces de {app} ?",
        ),
        ("Quels systèmes communiquent avec {app} ?", "Avec quels outils {app} est-elle interfacée ?"),
        (
            "{name} est liée à {apps}.",
            "Les applications liées à {name} sont {apps}.",
            "Selon le catalogue, {name} échange avec {apps}.",
        ),
        facts.links("applications_liees", "apps"),
        ("related",),
        "medium",
    ),
    QuestionType(
        "related_data",
        (
            "Quelles données sont liées à {app} ?",
            "Quels jeux de données utilise {app} ?",
            "{app} utilise quelles données ?",
            "donnees liees a {app}",
            "Pourriez-vous m'indiquer les données de référence associées à {app} ?",
            "Quelles donnees manipule l'appli {app} ?",
            "data liées a {app} ?",
        ),
        ("Sur quels référentiels de données s'appuie {app} ?", "Quelles sources de données sont rattachées à {app} ?"),
        (
            "Les données liées à {name} sont {data}.",
            "{name} utilise les données suivantes : {data}.",
            "Selon le catalogue, {name} est reliée aux données {data}.",
        ),
        facts.links("donnees_liees", "data"),
        ("related",),
        "medium",
    ),
    QuestionType(
        "technology",
        (
            "Quelle est la technologie principale de {app} ?",
            "Sur quelle technologie repose {app} ?",
            "{app}, c'est codé en quoi ?",
            "techno de {app}",
            "Pourriez-vous m'indiquer la pile technique de l'application {app} ?",
            "Quel langage utilise {app} ?",
            "technologie utilisee par {app}",
        ),
        ("Avec quels outils techniques {app} a-t-elle été développée ?", "Quelle est la stack technique de {app} ?"),
        (
            "La technologie principale de {name} est {tech}.",
            "{name} repose sur {tech}.",
            "Selon le catalogue, {name} est développée avec {tech}.",
        ),
        facts.scalar("technologie_principale", "tech"),
        ("hosting",),
        "medium",
    ),
    QuestionType(
        "hosting",
        (
            "Où est hébergée {app} ?",
            "Qui héberge l'application {app} ?",
            "{app} tourne où ?",
            "hebergement de {app}",
            "Pourriez-vous m'indiquer l'hébergeur de l'application {app} ?",
            "Chez qui est heberge {app} ?",
            "hébergeur de l'appli {app} ?",
        ),
        ("Sur quelle infrastructure {app} est-elle déployée ?", "Quel prestataire assure l'hébergement de {app} ?"),
        (
            "{name} est hébergée par {hosts}.",
            "L'hébergement de {name} est assuré par {hosts}.",
            "Selon le catalogue, {name} est hébergée chez {hosts}.",
        ),
        facts.hosting,
        ("hosting",),
        "medium",
    ),
]
