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
from ingestion.text_repair import fold


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
    # Recognisers: regexes over the folded question (lowercase, no accents, punctuation as spaces),
    # French and English. High precision: the intent classifier (ingestion.intent_model) covers the rest.
    cues: tuple[str, ...] = ()
    # English phrasings: training data for the classifier and the datasets (answers stay French).
    english: tuple[str, ...] = ()
    # What "La fiche de X ne renseigne pas …" says when the record has no value.
    missing: str = ""
    # Types this one wins over when both are recognised ("mise en production" is a date, not a status).
    overrides: tuple[str, ...] = ()

    def phrasing_words(self, answers: bool = True) -> set[str]:
        """The folded words of its phrasings — training, test and English templates, and with
        ``answers`` its answer sentences (their slot names count: "statut") — less the application
        slot: the words that ask about the field."""
        texts = [*self.templates, *self.test_templates, *self.english, *(self.answers if answers else ())]
        return {w for text in texts for w in fold(text.replace("{app}", " ").replace("{", " ").replace("}", " ")).split()}

    def answer_for(self, record: AppRecord, variant: int = 0) -> tuple[str, list[str]] | None:
        """(answer, facts) for this record, or None when the record does not hold the value."""
        fact = self.extract(record)
        if fact is None:
            return None
        return self.answers[variant].format(name=record.nom, **fact.slots), fact.facts


# "c'est quoi l'url ?", "what is the status of …": a question word followed by the field it asks
# is that field's question, not a description's.
_NO_FIELD_AFTER = (
    r"(?!\s+(?:l |la |le |les |son |sa |ses |leur |the |its )?(?:url|adresse|site|lien|statut|status|contact|contacts|mail|email|courriel"
    r"|date|version|techno|technologie|technology|moa|moe|hebergeur|portee|scope|famille|domaine|identifiant|id|responsable|chef)\b)"
)

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
        missing="de statut",
        cues=(r"\bstatut", r"\bstatu\b", r"\ben prod(uction)?\b", r"\ben construction\b", r"\betat\b", r"\barrete", r"\ben service\b", r"\bou en est\b", r"\bactive?\b", r"\b(marche|fonctionne|tourne)(nt)? (encore|toujours)\b", r"\b(encore|toujours) (utilise|actif|active|en service|en ligne|disponible|maintenue?s?)", r"\bmaintenue?s? (encore|toujours)\b", r"\bstatus\b", r"\bstill (running|used|in use|active|alive|live)\b", r"\bin production\b", r"\bdecommission", r"\bretired\b", r"\b(deja )?ouverte?s?\b(?! en production)", r"\ben est ou\b", r"\ba quel stade\b", r"\bquel stade\b"),
        english=("What is the status of {app}?", "Is {app} in production?", "Is {app} still running?", "status of {app}", "Has {app} been retired?",),
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
        missing="de nom complet",
        cues=(r"\bnom (complet|long|entier)", r"\bsignifi", r"\bveut dire\b", r"\bacronyme", r"\bsigle", r"\bintitule", r"\ben toutes lettres", r"\ben entier\b", r"\bstand(s)? for\b", r"\bfull name\b", r"\bacronym\b",),
        english=("What does {app} stand for?", "What is the full name of {app}?", "{app} acronym meaning?", "full name of {app}",),
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
        missing="d'identifiant",
        cues=(r"\bidentifiant", r"\bid\b", r"\bnumero\b", r"\bidentifier\b", r"\bcatalog(ue)? (id|number)\b",),
        english=("What is the id of {app}?", "What is the catalog identifier of {app}?", "{app} id number?",),
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
        missing="de portée géographique",
        cues=(r"\bportee?\b", r"\bgeographi", r"\bterritoire", r"\bechelle\b", r"\bperimetre", r"\bniveau (geographique|territorial)", r"\bscope\b", r"\bnational or (local|regional)\b", r"\bau niveau (national|regional|departemental|local)", r"\b(nationale?|regionale?|departementale?|locale?)s?\b(?= ?\?)"),
        english=("What is the geographic scope of {app}?", "Is {app} national or local?", "What territory does {app} cover?", "scope of {app}",),
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
        missing="de famille d'applications",
        cues=(r"\bfamille", r"\bcategorie", r"\btype d (appli|application|outil)", r"\bfamily\b", r"\bcategory\b",),
        english=("What application family is {app} in?", "Which category does {app} belong to?", "family of {app}",),
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
        missing="de domaine métier",
        cues=(r"(?<!\bnom de )\bdomaines?\b(?! (web|internet|dns))", r"\bthemati", r"\bsous domaine", r"\bsecteur", r"\bdomain\b", r"\bbusiness area\b",),
        english=("Which business domain is {app} in?", "What domain does {app} belong to?", "domain of {app}",),
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
        missing="de description",
        cues=(r"\ba quoi sert", r"\bsert a\b", r"\bdescri", r"\bc est quoi\b" + _NO_FIELD_AFTER, r"\bqu est ce que\b" + _NO_FIELD_AFTER, r"\bobjectif", r"\bpermet\b", r"\bpresent", r"\brole\b", r"\busages?\b", r"\bfinalite", r"\bque fait\b", r"\bwhat (is|does) .* (do|for)\b", r"\bwhat is\b" + _NO_FIELD_AFTER, r"\bdescribe\b", r"\bused for\b", r"\bpurpose\b", r"\bc etait quoi\b", r"\bquoi comme (outil|appli|application|logiciel)\b", r"\bserv(ait|ira|ent)? a quoi\b", r"\bremplac", r"\b(what|tell me)\b.*\babout\b", r"\ba quoi serv(ait|ent|ira)\b"),
        english=("What does {app} do?", "What is {app} used for?", "Describe {app}.", "What is {app}?", "What is the purpose of {app}?",),
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
        missing="de contact",
        cues=(r"\bcontact", r"\bjoindre\b", r"\bcourriel", r"\be ?mail", r"\bmel\b", r"\bresponsable", r"\bchef de proj", r"\breferent", r"\bqui (gere|s occupe|est en charge)", r"\bsolliciter\b", r"\bm adresser\b", r"\binterlocut", r"\bsupport\b", r"\bassistance\b", r"\bj ecris a qui\b", r"\ba qui (ecrire|m adresser|je m adresse|dois je)", r"\bpreviens qui\b", r"\bwho (should i|do i|to) (contact|write|email|ask|call)\b", r"\breach out\b", r"\bget in touch\b", r"\bpoint of contact\b", r"\bwho (should i|do i|can i) (talk|speak) to\b", r"\bresp (d )?appli", r"\bproject (manager|lead)\b", r"\bin charge\b", r"\bowner\b", r"\bhelpdesk\b", r"\ben charge\b", r"\badresse (electronique|mail|e mail|courriel|email|de messagerie)\b", r"\bmail\b"),
        english=("Who should I contact about {app}?", "Who is the project manager of {app}?", "email address for {app} support?", "Who is in charge of {app}?",),
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
        missing="d'adresse web",
        cues=(r"\burl\b", r"\bnom de domaine\b", r"\bdomain name\b", r"\bdocumentation en ligne\b", r"\bdoc(umentation|s)?\b(?! (d|de|des) )", r"\bonline documentation\b", r"\bsites?\b(?! de)", r"\blien\b(?! avec)", r"(?<!\bs )\badresse\b(?! (electronique|mail|e mail|courriel|email|de messagerie))", r"\bacceder", r"\bweb\b", r"\ben ligne\b.*\bou\b", r"\bwebsite\b", r"\blink\b", r"\baddress\b",),
        english=("What's the website of {app}?", "url of {app}?", "Where can I access {app} online?", "link to {app}",),
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
        missing="d'acteurs (MOA/MOE)",
        cues=(r"\bmoa\b", r"\bmoe\b", r"\bmaitr(e|ise) d (ouvrage|oeuvre)", r"\bacteurs?\b", r"\bediteur", r"\bpilot", r"\brealisent\b", r"\brealisee? par\b", r"\bentites?\b", r"\bintervien", r"\bporte le projet", r"\bqui (le|la|l) porte\b", r"\bprestataire\b", r"\bactors?\b", r"\bbodies\b", r"\borgani[sz]ations? (involved|behind)\b", r"\bwho (builds|develops|runs|owns)\b",),
        english=("Who are the MOA and MOE of {app}?", "Which bodies are involved in {app}?", "Who develops {app}?", "actors of {app}",),
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
        missing="de date de mise en production",
        cues=(r"\bmise? en (production|service|ligne|prod)\b", r"\bmis en (production|service|ligne|prod)\b", r"\bdepuis quand\b", r"\bdate de mise", r"\b(depuis )?quelle date\b.* en (production|service|prod)\b", r"\ben (production|prod|service) depuis\b", r"\bquand\b.*\b(deploy|sorti|ouvert)", r"\bsorti\w* quand\b", r"\bouverte? en production\b", r"\bmep\b", r"\bgo(ne)? live\b", r"\bwent live\b", r"\blaunch(ed)? in production\b", r"\bwhen .* (released|in production|live)\b", r"\bdeploy\w* en (production|prod)\b", r"\ben (production|prod) quand\b", r"\b(quand|when|a quelle date|en quelle annee)\b.*\b(passee?s?|arrivee?s?|entree?s?) en (production|prod|service)\b"),
        english=("When did {app} go live?", "When was {app} put into production?", "production date of {app}", "Since when is {app} in production?",),
        overrides=("status",),
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
        missing="de date de création",
        cues=(r"\bcree[es]*\b", r"\bcreation\b", r"\bdemarr", r"\bete lancee?s?\b", r"\blancement\b", r"\blance quand\b", r"\bcreated\b", r"\bkicked off\b", r"\bstarted\b", r"\bcreation date\b", r"\bexiste depuis\b", r"\bdepuis quand\b.*\bprojet\b", r"\bprojet\b.*\b(lance|demarre|cree)", r"\bdepuis quand\b.*\bexiste"),
        english=("When was {app} created?", "When was the {app} project kicked off?", "creation date of {app}", "When did the {app} project start?",),
        overrides=("description", "production_date"),
    ),
    QuestionType(
        "shutdown_date",
        (
            "Quand l'application {app} a-t-elle été arrêtée ?",
            "Quelle est la date d'arrêt de {app} ?",
            "{app}, ça s'est arrêté quand ?",
            "date d'arret de {app}",
            "Pourriez-vous m'indiquer à quelle date l'application {app} a été retirée du service ?",
            "{app} a fermé quand ?",
        ),
        ("Depuis quand {app} n'est-elle plus en service ?", "À quelle date {app} a-t-elle été décommissionnée ?"),
        (
            "{name} a été arrêtée le {date}.",
            "L'arrêt de {name} date du {date}.",
            "D'après le catalogue, {name} est arrêtée depuis le {date}.",
        ),
        facts.event("Arrêt"),
        ("events",),
        "medium",
        labels=("Arrêt",),
        missing="de date d'arrêt",
        cues=(r"\bdate d arret\b", r"\barrete\w* quand\b", r"\b(ferme|stoppe|retire|decommissionne)\w* quand\b", r"\bquand\b.*\b(arrete|ferme|stoppe|retire|decommissionne)", r"\bplus en service\b", r"\bshut down\b", r"\bdecommissioned when\b", r"\bwhen was .* (retired|decommissioned|shut)\b", r"\bquelle date\b.*\b(arrete|ferme|retire|decommission)", r"\bwhen\b.*\b(retired|decommissioned|shut down)"),
        english=("When was {app} shut down?", "When was {app} decommissioned?", "shutdown date of {app}"),
        overrides=("status",),
    ),
    QuestionType(
        "version",
        (
            "Quelle est la version actuelle de {app} ?",
            "En quelle version est {app} ?",
            "{app} en est à quelle version ?",
            "derniere version de {app}",
            "Pourriez-vous m'indiquer le numéro de la dernière version de {app} ?",
            "c'est quoi la version de {app} en ce moment ?",
        ),
        ("Quel est le dernier numéro de version de {app} ?", "Quelle version de {app} est déployée ?"),
        (
            "La dernière version de {name} est la {version} ({evenement}, le {date}).",
            "{name} en est à la version {version} ({evenement}, le {date}).",
            "D'après le catalogue, la version la plus récente de {name} est la {version} ({evenement}, le {date}).",
        ),
        facts.latest_version,
        ("events",),
        "medium",
        missing="de version",
        cues=(r"\bversions?\b(?! (de|du|des|d) (l )?(donnees|production|recette))", r"\brelease\b", r"\bwhich version\b"),
        english=("What version is {app} at?", "latest version of {app}", "Which version of {app} is deployed?"),
        overrides=("production_date", "creation_date", "shutdown_date", "status"),
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
        missing="d'application liée",
        cues=(r"\bapplications? liees?", r"\bechange", r"\bflux\b", r"\binterconnect", r"\b(re)?liee?s? (a|avec)\b", r"\bdepend", r"\bapplications? (connectees|reliees)", r"\bcommuniqu(e|ent) (t )?(il|elle|ils|elles|avec|entre|des donnees)\b", r"\bavec (quoi|qui|quelles?)\b.*\bcommuniqu", r"\binterface", r"\b(envo(i|y)|transmet|alimente|balance|pousse)\w* (ses |des |leurs )?(donnees|infos)", r"\b(recupere|recoit)\w* (ses |des )?(donnees|infos)", r"\b(vers|a|avec|par) quelles? (autres? )?(applis?|applications?)\b", r"\bexchange", r"\bconnected to\b", r"\bintegrat", r"\bfeeds?\b", r"\bsends? (its )?data\b", r"\balimente\w*\b", r"\brecoit\w* des donnees\b", r"\ben lien avec\b", r"\bconnecte\w*\b"),
        english=("Which apps does {app} exchange data with?", "What is {app} connected to?", "Which applications are linked to {app}?", "Where does {app} send its data?",),
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
        missing="de donnée liée",
        cues=(r"\bdonnees?\b", r"\bjeux? de donnees\b", r"\breferentiels? de donnees", r"\bdatasets?\b", r"\bdata\b",),
        english=("Which datasets are linked to {app}?", "What data does {app} use?", "data sets of {app}",),
        overrides=("related_apps",),
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
        missing="de technologie principale",
        cues=(r"\btechno", r"\btech\b", r"\blangage", r"\bdeveloppee? (en|avec)\b", r"\bstack\b", r"\boutils? techniques?\b", r"\bcode en\b", r"\bcodee? en\b", r"\bframework", r"\bwritten in\b", r"\bbuilt with\b", r"\bprogramming language\b", r"\btech(nology)? stack\b", r"\b(tourne|fonctionne|developpee?|codee?)\w* (bien )?(sous|en|avec) (java|php|python|node|oracle|postgresql|r |sas|access|delphi|powerbuilder|drupal)", r"\b(quelle |sa |la )?base de donnees (utilise|utilisee|employee|sous jacente)\b", r"\bquelle base de donnees\b", r"\bsgbd\b", r"\bdatabase (engine|system|does)\b", r"\b(fait|faite|fabrique|construite?|developpee?|ecrite?|codee?) (avec|en) quoi\b", r"\b(avec|en) quoi\b.{0,20}\b(fait|faite|developpee?|codee?|construite?|ecrite?)\b"),
        english=("What technology does {app} use?", "What is {app} written in?", "tech stack of {app}", "Which language is {app} built with?",),
        overrides=("related_data",),  # "quelle base de données" is the stack, not the data
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
        missing="d'hébergement",
        cues=(r"\bheberg", r"\binfrastructure", r"\b(ou|sur quel\w*|chez qui)\b.*\bdeploy", r"\bdeploy\w* (sur|chez)\b", r"\bdatacenter", r"\bcentre serveur", r"\btourne ou\b", r"\bhosted\b", r"\bhosting\b", r"\bwhere does .* run\b",),
        english=("Where is {app} hosted?", "Who hosts {app}?", "hosting of {app}", "Which datacenter runs {app}?",),
        overrides=("actors",),
    ),
    QuestionType(
        "users",
        (
            "Qui sont les utilisateurs de {app} ?",
            "Qui utilise l'application {app} ?",
            "{app}, c'est pour qui ?",
            "utilisateurs de {app}",
            "Pourriez-vous m'indiquer à quels publics s'adresse {app} ?",
            "À qui s'adresse l'appli {app} ?",
        ),
        ("Quels publics se servent de {app} ?", "Par qui {app} est-elle utilisée ?"),
        (
            "Utilisateurs de {name} : {users}.",
            "{name} est utilisée par : {users}.",
            "Selon sa fiche, {name} s'adresse à : {users}.",
        ),
        facts.string_list("utilisateurs", "users"),
        ("description",),
        "medium",
        labels=("Utilisateurs",),
        missing="d'utilisateurs",
        cues=(r"\butilisateurs\b", r"\bqui (l )?utilise", r"\butilisent (t )?(ils|elles)\b", r"\butilise t (il|elle|on)\b", r"\butilisee? par\b", r"\ba qui s adresse", r"\bc est pour qui\b", r"\bpublics?\b", r"\bwho uses\b", r"\busers?\b(?! count)", r"\baudience\b", r"\bdestinee?s? a\b", r"\ba qui\b.*\bdestine"),
        english=("Who uses {app}?", "Who are the users of {app}?", "Who is {app} for?"),
    ),
    QuestionType(
        "functions",
        (
            "Quelles sont les fonctionnalités de {app} ?",
            "Que permet de faire {app} ?",
            "{app}, on peut faire quoi avec ?",
            "fonctions de {app}",
            "Pourriez-vous me lister les fonctions principales de l'application {app} ?",
            "Quelles fonctions offre l'appli {app} ?",
        ),
        ("Quelles possibilités offre {app} à ses utilisateurs ?", "Quelles sont les fonctions assurées par {app} ?"),
        (
            "Fonctions de {name} : {functions}.",
            "{name} offre les fonctions suivantes : {functions}.",
            "Selon sa fiche, {name} assure : {functions}.",
        ),
        facts.string_list("fonctions", "functions"),
        ("description",),
        "medium",
        labels=("Fonctions",),
        missing="de fonctions",
        cues=(r"\bfonctionnalites?\b", r"\bfonctions (de|d|principales|offertes|assurees)\b", r"\bquelles? (sont les )?fonctions\b", r"\bon (y )?fait quoi\b", r"\bfeatures?\b", r"\bfunctions?\b", r"\bwhat can (users|i|you) do\b", r"\bpermet(tent)? de faire\b", r"\bpossibilites\b"),
        english=("What are the features of {app}?", "What can users do in {app}?", "functions of {app}"),
        overrides=("description", "users"),
    ),
    QuestionType(
        "stakes",
        (
            "Quels sont les enjeux de {app} ?",
            "Quel est l'enjeu de l'application {app} ?",
            "{app}, c'est quoi l'enjeu ?",
            "enjeux de {app}",
            "Pourriez-vous m'exposer les enjeux de l'application {app} ?",
        ),
        ("Quels enjeux porte {app} ?", "En quoi {app} est-elle stratégique ?"),
        (
            "Enjeux de {name} : {stakes}",
            "Les enjeux de {name} sont : {stakes}",
            "Selon sa fiche, les enjeux de {name} : {stakes}",
        ),
        facts.scalar("enjeux", "stakes"),
        ("description",),
        "medium",
        labels=("Enjeux",),
        missing="d'enjeux",
        cues=(r"\benjeux?\b", r"\bstakes?\b", r"\bstrategi"),
        english=("What is at stake with {app}?", "What are the stakes of {app}?"),
    ),
    QuestionType(
        "user_count",
        (
            "Combien d'utilisateurs a {app} ?",
            "Quel est le nombre d'utilisateurs de {app} ?",
            "{app}, ça fait combien d'utilisateurs ?",
            "nombre d'utilisateurs de {app}",
            "Pourriez-vous m'indiquer combien de personnes utilisent {app} ?",
        ),
        ("Combien de personnes se servent de {app} ?", "Quelle est la volumétrie d'utilisateurs de {app} ?"),
        (
            "Nombre d'utilisateurs de {name} : {value}.",
            "{name} compte {value} utilisateurs.",
            "Selon sa fiche, {name} a {value} utilisateurs.",
        ),
        facts.export_field("nombre d utilisateurs"),
        ("other",),
        "medium",
        missing="de nombre d'utilisateurs",
        cues=(r"\bnombre d utilisateurs", r"\bcombien d utilisateurs", r"\bcombien de personnes", r"\bhow many users\b", r"\buser count\b", r"\bvolumetrie\b"),
        english=("How many users does {app} have?", "user count of {app}"),
        overrides=("users",),
    ),
    QuestionType(
        "licence",
        (
            "Quelle est la licence de {app} ?",
            "Sous quelle licence est distribuée {app} ?",
            "{app}, c'est quelle licence ?",
            "licence de {app}",
            "Pourriez-vous m'indiquer la licence logicielle de {app} ?",
        ),
        ("Sous quelle licence {app} est-elle publiée ?", "Quel régime de licence s'applique à {app} ?"),
        (
            "Licence de {name} : {value}.",
            "{name} est distribuée sous la licence {value}.",
            "Selon sa fiche, la licence de {name} est {value}.",
        ),
        facts.export_field("licence"),
        ("other",),
        "medium",
        missing="de licence",
        cues=(r"\blicences?\b", r"\blogiciel libre\b", r"\bopen source\b", r"\blicen[cs]e\b"),
        english=("What is the licence of {app}?", "Is {app} open source?"),
    ),
    QuestionType(
        "budget",
        (
            "Quel est le budget de {app} ?",
            "Combien coûte l'application {app} ?",
            "{app}, ça coûte combien ?",
            "budget de {app}",
            "Pourriez-vous m'indiquer le coût annuel de {app} ?",
        ),
        ("Quel montant est consacré à {app} ?", "Quel est le coût de fonctionnement de {app} ?"),
        (
            "Budget de {name} : {value}.",
            "Le budget de {name} est de {value}.",
            "Selon sa fiche, {name} coûte {value}.",
        ),
        facts.export_field("budget", "cout"),
        ("other",),
        "medium",
        missing="de budget ni de coût",
        cues=(r"\bbudget", r"\bcout", r"\bprix\b", r"\btarif", r"\bhow much does .* cost\b", r"\bcost\b"),
        english=("What is the budget of {app}?", "How much does {app} cost?"),
    ),
]
