"""Spanish word knowledge for the crisis screen (dialogs/safety.py): who is speaking, and how
words run together split back. The phrasings themselves are in
dialogs/data/crisis_patterns_es.yaml; this module holds only what a list of patterns cannot
say: Spanish drops the subject ("tengo las pastillas aquí"), so the person is read from the
verb and from clitics, not from a pronoun as in English.

All words here are as the screen reads them: lower case, accents folded ("está" -> "esta",
"mañana" -> "manana"). Pure data and two small functions; no I/O.
"""

from __future__ import annotations

import re


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# First-person verb forms that no other person shares once accents are folded. Regular -ar
# verbs are left out on purpose: "tomo" is "I take" and also "tomó" ("he took") folded, so it
# says nothing about who took what. So are forms that are English words ("he", "boy", "toy"):
# this is read on every message, whatever its language.
FIRST_VERBS = _words(
    "tengo estoy quiero voy soy puedo pienso siento hago hice decidi quise doy sigo "
    "vuelvo volvi prefiero merezco estuve tuve fui puse dije kiero tng encuentro "
    "duermo muero pido"
)

# Someone else, named the Spanish way (the words the English list does not already hold).
THIRD = _words(
    "mama mami papa papi abuela abuelo abuelita abuelito pareja marido mujer esposa esposo "
    "prima primo tia tio sobrina sobrino nieta nieto suegra suegro cunada cunado vecina "
    "vecino companera compa colega alumna alumno estudiante jefa jefe profe profesora "
    "profesor amigas amigos chica chico chamaco chamaca morra morro pibe piba chaval "
    "chavala cuate cuata pana parcero parcera hijastra hijastro padrastro madrastra "
    "exnovio exnovia protagonista personaje senora senor vieja viejo ella ellos ellas "
    "hermanita hermanito hijos hijas nietos actor actriz cantante famoso famosa youtuber "
    "futbolista influencer streamer rapero rapera"
)

# Story and news words: someone else's death in one of these is fiction or news, not a
# person at risk now.
FICTION = (
    "libro|novela|peli|pelicula|serie|capitulo|episodio|temporada|cancion|poema|obra|"
    "protagonista|personaje|villana|villano|documental|noticias|telediario|podcast|"
    "videojuego|romeo|julieta|tragedia|anime|manga"
)

# An infinitive or gerund with "me" fixed to it ("matarme", "cortándome") is about the
# writer, whatever other person the sentence names. Three letters of stem at least, so
# "duerme" (he sleeps) and "firme" are not read as one.
_CLITIC_ME = re.compile(r"\w{3,}(?:arme|erme|irme|andome|iendome|yendome)")


def first_person(word: str) -> bool:
    """True when `word` alone says the writer is the one speaking of themselves."""
    return word in FIRST_VERBS or bool(_CLITIC_ME.fullmatch(word))


_PARTICIPLE = re.compile(r"\w+(?:ado|ido|echo|icho|isto|uesto|ierto)")
# "sin mí", "para mí" said last: "estarían mejor sin mí" (accents folded, "mi" is also "my").
_TO_ME = frozenset(("sin", "para", "de", "a"))


def speaks_of_self(words: list[str]) -> bool:
    """True when a run of words says the writer is the one at risk: a first-person verb or
    clitic, "he" before a participle ("he decidido", "he estado": I have), "mí" ending the
    run after "sin" or "para" ("más felices sin mí"), or "yo" inside it ("que yo no
    existiera") or after "como" ("sin una madre como yo")."""
    for index, word in enumerate(words):
        if first_person(word):
            return True
        after = words[index + 1] if index + 1 < len(words) else ""
        if word == "he" and _PARTICIPLE.fullmatch(after):
            return True
        if word == "mi" and index == len(words) - 1 and index and words[index - 1] in _TO_ME:
            return True
        if word == "yo" and 0 < index < len(words) - 1:
            return True  # "sería mejor que yo no existiera" (a first word "yo" may be English)
        if word == "yo" and index and words[index - 1] == "como":
            return True  # "sin una madre como yo": the writer is the one spoken of
    return False


# "dijo que", "me escribió que", "lleva días diciendo que": what follows is someone else's.
_REPORTING = _words(
    "dijo dice decia dijeron dicen escribio escribe escribieron cuenta conto repite "
    "diciendo pone puso publico subio manda mando comenta comento jura juro"
)


def reports(words: list[str], index: int) -> bool:
    """True when words[index] is the "que" of a reporting verb ("me dijo que")."""
    return (
        words[index] == "que"
        and index > 0
        and (words[index - 1] in _REPORTING or (index > 1 and words[index - 2] in _REPORTING))
    )


_CLITIC_SE = re.compile(r"\w{3,}(?:arse|erse|irse|andose|iendose)")
_OWNER = frozenset(("mi", "mis", "su", "sus"))


def third_person(words: list[str]) -> bool:
    """True when the words of a hit about someone else say so in Spanish: they start with
    the reflexive "se" ("se quiere matar"), hold a reflexive infinitive ("quiere
    suicidarse"), or name the person after "de mi" or "a mi" ("en el cuarto de mi hija", "le
    encontré a mi hija pastillas escondidas")."""
    if words and words[0] == "se":
        return True
    for index, word in enumerate(words):
        if _CLITIC_SE.fullmatch(word):
            return True
        if word in ("de", "a") and index + 2 < len(words) and words[index + 1] in _OWNER:
            return True
    return False


# "(yo)", "(o sea yo jaja)", "(bueno, yo)", "(soy yo)": the person spoken of is the writer.
RAW_SELF = (
    r"\(\s*(?:o\s+sea\s+|osea\s+|bueno,?\s+|es\s+decir,?\s+|mejor\s+dicho,?\s+|ejem,?\s+|soy\s+|es\s+)?"
    r"(?:yo|yo\s+misma|yo\s+mismo)\b[^)]{0,16}\)"
)

# Words run together ("yanoquierovivir") are cut back into these when every piece is one.
LEXICON = _words(
    "ya no me te se quiero kiero quiere vivir morir morirme matarme matar suicidarme "
    "suicidar quitarme la vida mi hoy esta noche manana voy a seguir aqui mas nadie "
    "importa todo acabar con cansado cansada de estoy soy una carga desaparecer para "
    "siempre ganas tengo sin odio porque que quisiera ojala despertar despertarme"
)
