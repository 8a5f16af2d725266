"""Reference vocabularies the generator draws from (names, places, products).

Small, fixed lists keep the output deterministic for a seed and make the data
look like a European/North-American D2C shop's customer base.
"""

FIRST_NAMES = (
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara "
    "Richard Susan Joseph Jessica Thomas Sarah Charles Karen Daniel Lisa Matthew Nancy Anthony "
    "Betty Mark Sandra Paul Ashley Steven Emily Andrew Kimberly Joshua Donna Kevin Michelle "
    "Brian Carol George Amanda Timothy Melissa Ronald Deborah Jason Stephanie Emma Olivia Noah "
    "Liam Sophie Lukas Lea Hannah Felix Mia Louis Chloe Hugo Camille Lucas Manon Daan Sanne "
    "Lars Julia Sven Eva Pablo Lucia Marco Giulia Sean Aoife Finn Niamh Oliver Amelia Jack Isla"
).split()

LAST_NAMES = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez "
    "Wilson Anderson Taylor Thomas Moore Jackson Martin Lee Thompson White Harris Clark Lewis "
    "Walker Young Allen King Wright Scott Green Baker Adams Nelson Hill Campbell Mitchell "
    "Roberts Carter Phillips Evans Turner Parker Collins Edwards Stewart Morris Murphy Cook "
    "Muller Schmidt Schneider Fischer Weber Meyer Wagner Becker Dubois Durand Lefebvre Moreau "
    "Laurent Simon Michel Jansen DeVries Bakker Visser Smit Rossi Russo Ferrari Esposito Bianchi "
    "Fernandez Gonzalez Sanchez Perez Obrien Kelly Byrne Ryan Walsh Oconnor"
).split()

EMAIL_DOMAINS = (
    "gmail.com",
    "yahoo.com",
    "outlook.com",
    "hotmail.com",
    "icloud.com",
    "gmx.de",
    "web.de",
    "orange.fr",
    "hotmail.co.uk",
    "proton.me",
    "libero.it",
    "ziggo.nl",
)

# country -> (weight, currency, calling code, [(city, postal code prefix)], national trunk prefix)
COUNTRIES = {
    "US": (0.34, "USD", "1", [("New York", "100"), ("San Francisco", "941"), ("Chicago", "606"),
                              ("Austin", "787"), ("Seattle", "981"), ("Boston", "021")], ""),
    "GB": (0.14, "GBP", "44", [("London", "SW1"), ("Manchester", "M1"), ("Leeds", "LS1"),
                               ("Bristol", "BS1")], "0"),
    "DE": (0.13, "EUR", "49", [("Berlin", "101"), ("Hamburg", "203"), ("Munich", "803"),
                               ("Cologne", "506")], "0"),
    "FR": (0.10, "EUR", "33", [("Paris", "750"), ("Lyon", "690"), ("Marseille", "130")], "0"),
    "NL": (0.07, "EUR", "31", [("Amsterdam", "101"), ("Rotterdam", "301"), ("Utrecht", "351")],
           "0"),
    "ES": (0.06, "EUR", "34", [("Madrid", "280"), ("Barcelona", "080"), ("Valencia", "460")], ""),
    "IT": (0.05, "EUR", "39", [("Rome", "001"), ("Milan", "201"), ("Turin", "101")], ""),
    "CA": (0.05, "CAD", "1", [("Toronto", "M5V"), ("Vancouver", "V6B"), ("Montreal", "H2X")],
           ""),
    "AU": (0.04, "AUD", "61", [("Sydney", "200"), ("Melbourne", "300"), ("Brisbane", "400")],
           "0"),
    "IE": (0.02, "EUR", "353", [("Dublin", "D02"), ("Cork", "T12")], "0"),
}

# Mobile number shapes per country: (prefix after the calling code, digits that follow).
MOBILE_PREFIXES = {
    "US": (["212", "415", "646", "312", "617", "512", "206", "305"], 7),
    "GB": (["7700", "7711", "7821", "7911", "7400"], 6),
    "DE": (["151", "160", "170", "171", "176"], 8),
    "FR": (["6", "7"], 8),
    "NL": (["6"], 8),
    "ES": (["6", "7"], 8),
    "IT": (["320", "333", "347", "380"], 7),
    "CA": (["416", "604", "514"], 7),
    "AU": (["4"], 8),
    "IE": (["83", "85", "86", "87"], 7),
}

CATEGORIES = (
    "running_shoes",
    "outdoor_jackets",
    "yoga",
    "cycling",
    "swimwear",
    "accessories",
    "kids",
    "home_fitness",
)

OPT_IN_SOURCES = ("signup_form", "checkout", "newsletter_popup", "import", "event")

TEST_ACCOUNT_EMAILS = ("test@test.com", "qa@example.com", "noreply@example.com", "info@company.com")

UTM_SOURCES = ("google", "facebook", "newsletter", "instagram", "direct", "bing")
