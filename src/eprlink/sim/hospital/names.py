"""Small built-in word lists for invented UK-style people and places (no external data)."""

# Names are common enough that no combination points at a real person; towns are invented and
# streets only ever appear with an invented town and a postcode in the non-existent area XX.

from __future__ import annotations


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


__all__ = [
    "COUNTY",
    "FAMILY",
    "FEMALE",
    "MALE",
    "POOL_OF_ETHNICITY",
    "STREETS",
    "STREET_TYPES",
    "TOWNS",
]

# Name pools by broad background; each has family names and given names by sex.
FAMILY: dict[str, tuple[str, ...]] = {
    "british": _words(
        "SMITH JONES TAYLOR BROWN WILLIAMS WILSON JOHNSON DAVIES ROBINSON WRIGHT THOMPSON "
        "EVANS WALKER WHITE ROBERTS GREEN HALL WOOD JACKSON CLARKE HARGREAVES PEMBERTON "
        "FAIRCLOUGH ACKROYD BARRACLOUGH CROWTHER HOLROYD MIDGLEY SUTCLIFFE OLDROYD MURPHY "
        "KELLY MACLEOD CAMPBELL STEWART LLEWELLYN PRICE MORGAN"
    ),
    "european": _words(
        "NOWAK KOWALSKI WISNIEWSKI POPESCU IONESCU SILVA SANTOS FERREIRA ROSSI ESPOSITO "
        "KAZLAUSKAS GARCIA MULLER PETROV"
    ),
    "south_asian": _words(
        "KHAN AHMED HUSSAIN ALI PATEL SHAH SINGH KAUR BEGUM MAHMOOD IQBAL CHAUDHRY MISTRY "
        "PAREKH UDDIN MIAH SHARMA"
    ),
    "black": _words(
        "OKAFOR ADEBAYO MENSAH OWUSU BOATENG CAMPBELL GRANT FRANCIS OKOYE NWOSU DIALLO "
        "MOHAMED ABDI BAPTISTE JOSEPH"
    ),
    "east_asian": ("CHEN", "WANG", "LI", "ZHANG", "WONG", "LAU", "NGUYEN", "TRAN", "KIM"),
}

MALE: dict[str, tuple[str, ...]] = {
    "british": _words(
        "JAMES OLIVER GEORGE HARRY JACK THOMAS WILLIAM DAVID PETER JOHN MICHAEL ROBERT "
        "STEPHEN PAUL ANDREW MARK IAN GARETH CALLUM NOAH ALFIE ARTHUR LEO RHYS CONNOR KEITH"
    ),
    "european": ("JAKUB", "PIOTR", "ANDREI", "MIHAI", "JOAO", "LUCA", "MARCO", "TOMAS"),
    "south_asian": _words(
        "MOHAMMED MUHAMMAD IMRAN ASIF RAVI SANJAY ARJUN AMIR HAMZA YUSUF GURPREET VIKRAM"
    ),
    "black": ("KWAME", "CHINEDU", "TUNDE", "EMMANUEL", "DANIEL", "JOSHUA", "ABDI", "KOFI"),
    "east_asian": ("WEI", "JUN", "MING", "HAO", "MINH", "JOON"),
}

FEMALE: dict[str, tuple[str, ...]] = {
    "british": _words(
        "OLIVIA AMELIA ISLA AVA EMILY SOPHIE GRACE MARGARET SUSAN ELEANOR PATRICIA JEAN SARAH "
        "CLAIRE KAREN JOANNE RACHEL HANNAH CHLOE FREYA POPPY MAISIE SIAN MORAG BRENDA"
    ),
    "european": ("AGNIESZKA", "KATARZYNA", "IOANA", "ELENA", "ANA", "GIULIA", "LAURA"),
    "south_asian": _words(
        "FATIMA AISHA AMINA PRIYA ANJALI NADIA ZARA SAIMA HARPREET SIMRAN RUKHSANA MEERA"
    ),
    "black": ("AMARA", "CHIAMAKA", "ABENA", "NIA", "GRACE", "BLESSING", "FARTUN", "ESTHER"),
    "east_asian": ("MEI", "XIN", "YAN", "LING", "HOA", "JI-WOO"),
}

# PID-22 ethnic category -> the name pool drawn from (a loose link, for plausibility only).
POOL_OF_ETHNICITY: dict[str, tuple[str, ...]] = {
    "A": ("british",),
    "B": ("british",),
    "C": ("european",),
    "D": ("british", "black"),
    "E": ("british", "black"),
    "F": ("british", "south_asian"),
    "G": ("british", "european"),
    "H": ("south_asian",),
    "J": ("south_asian",),
    "K": ("south_asian",),
    "L": ("south_asian", "east_asian"),
    "M": ("black",),
    "N": ("black",),
    "P": ("black",),
    "R": ("east_asian",),
    "S": ("european", "east_asian", "black"),
    "Z": ("british", "european", "south_asian"),
    "99": ("british",),
}

STREETS: tuple[str, ...] = _words(
    "EXAMPLE SAMPLE ALDER BIRCH MILLSTONE ORCHARD PLACEHOLDER FICTION TESTWELL "
    "MOCKINGBIRD DUMMY QUARRY LINNET HAWTHORN WILLOWMERE BRACKENRIDGE KINGFISHER FOXGLOVE "
    "PRIMROSE SANDPIPER"
)
STREET_TYPES: tuple[str, ...] = ("ROAD", "STREET", "LANE", "AVENUE", "CLOSE", "DRIVE", "WAY")

# Invented towns, each with the XX postcode districts it uses.
TOWNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("TESTBURY", ("1", "2", "3", "4", "9A")),
    ("EXAMPLETON", ("5", "6", "7")),
    ("SAMPLEFORD", ("8", "10", "11")),
    ("MOCKLEY", ("12", "13")),
    ("FAUXBRIDGE", ("14", "15", "9B")),
    ("PLACEHAM", ("16", "17")),
    ("SYNTHWELL", ("18", "19", "20")),
)
COUNTY = "TESTSHIRE"
