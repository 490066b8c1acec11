"""Built-in word lists for synthetic identities: common names, and invented places only."""

from __future__ import annotations

__all__ = [
    "COUNTIES",
    "FAMILY_NAMES",
    "FEMALE_GIVEN_NAMES",
    "LOCALITIES",
    "MALE_GIVEN_NAMES",
    "STREET_NAMES",
    "STREET_TYPES",
    "TOWNS",
]

# Common British names, combined at random: no list holds a real person's full name.
FAMILY_NAMES: tuple[str, ...] = (
    "Abbott", "Ainsworth", "Ashworth", "Bailey", "Barker", "Barlow", "Bennett", "Birch",
    "Bradley", "Brooks", "Carter", "Chapman", "Clarke", "Cooper", "Dawson", "Dixon",
    "Ellis", "Fairbairn", "Fletcher", "Foster", "Gardner", "Gibson", "Goddard", "Hargreaves",
    "Harper", "Hartley", "Hayward", "Holloway", "Hughes", "Jarvis", "Jennings", "Kemp",
    "Lambert", "Lawson", "Marsden", "Mason", "Mercer", "Moss", "Newton", "Nolan",
    "Oakley", "Parsons", "Pearce", "Pickering", "Quinn", "Rawlings", "Riley", "Rowe",
    "Sadler", "Sharpe", "Shepherd", "Slater", "Stanton", "Sutcliffe", "Thornton", "Tindall",
    "Townsend", "Underwood", "Vaughan", "Wainwright", "Walsh", "Webster", "Whitaker",
    "Wilkinson", "Woodward", "Yates",
)  # fmt: skip

FEMALE_GIVEN_NAMES: tuple[str, ...] = (
    "Abigail", "Amelia", "Beatrice", "Bethany", "Charlotte", "Chloe", "Daisy", "Deborah",
    "Eleanor", "Elsie", "Evelyn", "Fiona", "Florence", "Gemma", "Grace", "Hannah",
    "Harriet", "Imogen", "Isla", "Jessica", "Joanne", "Karen", "Katherine", "Laura",
    "Lucy", "Margaret", "Matilda", "Megan", "Nicola", "Olivia", "Pauline", "Philippa",
    "Rebecca", "Rosie", "Sophie", "Susan", "Tessa", "Victoria", "Wendy", "Zoe",
)  # fmt: skip

MALE_GIVEN_NAMES: tuple[str, ...] = (
    "Adam", "Alfie", "Arthur", "Benjamin", "Callum", "Charlie", "Christopher", "Daniel",
    "Dominic", "Edward", "Ethan", "Finley", "Frederick", "George", "Graham", "Harry",
    "Henry", "Isaac", "Jack", "Jacob", "Joseph", "Kieran", "Leo", "Lewis",
    "Matthew", "Nathan", "Neil", "Oliver", "Oscar", "Patrick", "Reuben", "Samuel",
    "Stephen", "Theo", "Thomas", "Timothy", "Toby", "Trevor", "William", "Zachary",
)  # fmt: skip

# Invented place names, so that a synthetic address can never be somebody's real one
# (docs/nhs-test-data.md §5): streets are combined with the XX postcode area, which does not exist.
STREET_NAMES: tuple[str, ...] = (
    "Testing", "Sample", "Specimen", "Placeholder", "Fiction", "Synthetic", "Mockup",
    "Dummy", "Exemplar", "Pretend", "Madeup", "Imaginary", "Notional", "Fabricated",
)  # fmt: skip

STREET_TYPES: tuple[str, ...] = (
    "Road", "Street", "Lane", "Close", "Avenue", "Way", "Mews", "Drive", "Crescent",
    "Gardens", "Terrace", "Grove",
)  # fmt: skip

TOWNS: tuple[str, ...] = (
    "Testbury", "Testford", "Testwick", "Exampleton", "Examplebridge", "Sampleford",
    "Sampleham", "Samplewick", "Fictionby", "Dummyton", "Mockingbury", "Pretendham",
)  # fmt: skip

LOCALITIES: tuple[str, ...] = (
    "Testside", "Sample Heath", "Fiction Hill", "Placeholder Green", "Mockup Vale",
    "Dummy Park", "Notional End", "Specimen Cross",
)  # fmt: skip

COUNTIES: tuple[str, ...] = (
    "Testshire", "Exampleshire", "Sampleshire", "North Fictionshire", "West Testshire",
    "Mockshire",
)  # fmt: skip
