"""Small embedded word lists that column generators sample from (vectorised, no Faker)."""

from __future__ import annotations


def _split(block: str) -> list[str]:
    """Words of a whitespace-separated block (``_`` stands for a space inside a name)."""
    return [word.replace("_", " ") for word in block.split()]


FIRST_NAMES = _split("""
James Mary John Patricia Robert Jennifer Michael Linda William Elizabeth David Barbara Richard Susan Joseph Jessica
Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy Matthew Betty Anthony Margaret Mark Sandra Donald Ashley
Steven Kimberly Paul Emily Andrew Donna Joshua Michelle Kenneth Carol Kevin Amanda Brian Dorothy George Melissa
Timothy Deborah Ronald Stephanie Edward Rebecca Jason Sharon Jeffrey Laura Ryan Cynthia Jacob Kathleen Gary Amy
Nicholas Angela Eric Shirley Jonathan Anna Stephen Brenda Larry Pamela Justin Emma Scott Nicole Brandon Helen
Benjamin Samantha Samuel Katherine Gregory Christine Alexander Debra Frank Rachel Patrick Carolyn Raymond Janet
Jack Catherine Dennis Maria Jerry Heather Tyler Diane Aaron Ruth Jose Julie Adam Olivia Nathan Joyce Henry Virginia
Douglas Victoria Zachary Kelly Peter Lauren Kyle Christina Ethan Joan Walter Evelyn Noah Judith Jeremy Megan
Christian Andrea Keith Cheryl Roger Hannah Terry Jacqueline Gerald Martha Harold Gloria Sean Teresa Austin Ann
Carl Sara Arthur Madison Lawrence Frances Dylan Kathryn Jesse Janice Jordan Jean Bryan Abigail Billy Alice Joe
Judy Bruce Sophia Gabriel Grace Logan Denise Albert Amber Willie Doris Alan Marilyn Juan Danielle Wayne Beverly
Elijah Isabella Randy Theresa Roy Diana Vincent Natalie Ralph Brittany Eugene Charlotte Russell Marie Bobby Kayla
Mason Alexis Philip Lori Louis Ana Liam Mia Lucas Chloe Oliver Ava Leo Zoe Hugo Ines Mateo Lucia Luca Giulia Jonas
Lena Finn Clara Elias Ida Felix Maja Noel Elsa Omar Leila Yusuf Amira Hiro Yuki Kenji Aiko Wei Mei Jun Lin Ravi
Priya Arjun Ananya Diego Valentina Pablo Camila Sven Astrid Lars Freya Mikhail Olga Ivan Tatiana Kwame Amara Tariq
""")

LAST_NAMES = _split("""
Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez Wilson Anderson
Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis Robinson Walker Young
Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter
Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers
Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson Watson Brooks Chavez
Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo Sanders Patel Myers Long Ross Foster Jimenez
Powell Jenkins Perry Russell Sullivan Bell Coleman Butler Henderson Barnes Gonzales Fisher Vasquez Simmons Romero
Jordan Patterson Alexander Hamilton Graham Reynolds Griffin Wallace Moreno West Cole Hayes Bryant Herrera Gibson
Ellis Tran Medina Aguilar Stevens Murray Ford Castro Marshall Owens Harrison Fernandez McDonald Woods Washington
Kennedy Wells Vargas Henry Chen Freeman Webb Tucker Guzman Burns Crawford Olson Simpson Porter Hunter Gordon Mendez
Silva Shaw Snyder Mason Dixon Munoz Hunt Hicks Holmes Palmer Wagner Black Robertson Boyd Rose Stone Salazar Fox
Warren Mills Meyer Rice Schmidt Garza Daniels Ferguson Nichols Stephens Soto Weaver Ryan Gardner Payne Grant Dunn
Muller Schneider Fischer Weber Becker Hoffmann Schulz Koch Richter Klein Wolf Neumann Rossi Russo Ferrari Esposito
Bianchi Romano Colombo Dubois Moreau Laurent Lefebvre Leroy Roux Tanaka Suzuki Takahashi Watanabe Ito Yamamoto Wang
Li Zhang Liu Yang Huang Zhao Wu Zhou Xu Sun Singh Kumar Sharma Gupta Khan Ali Hansen Johansen Larsen Nielsen Jensen
Andersson Karlsson Nilsson Eriksson Novak Kowalski Nowak Ivanov Petrov Popescu Horvat Costa Santos Oliveira Pereira
""")

CITIES = _split("""
Tokyo Delhi Shanghai Sao_Paulo Mexico_City Cairo Mumbai Beijing Dhaka Osaka New_York Karachi Buenos_Aires Chongqing
Istanbul Kolkata Manila Lagos Rio_de_Janeiro Tianjin Kinshasa Guangzhou Los_Angeles Moscow Shenzhen Lahore Bangalore
Paris Bogota Jakarta Chennai Lima Bangkok Seoul Nagoya Hyderabad London Tehran Chicago Chengdu Nanjing Wuhan
Ho_Chi_Minh_City Luanda Ahmedabad Kuala_Lumpur Xian Hong_Kong Dongguan Hangzhou Foshan Shenyang Riyadh Baghdad
Santiago Surat Madrid Suzhou Pune Harbin Houston Dallas Toronto Dar_es_Salaam Miami Belo_Horizonte Singapore
Philadelphia Atlanta Fukuoka Khartoum Barcelona Johannesburg Saint_Petersburg Qingdao Dalian Washington Yangon
Alexandria Jinan Guadalajara Boston Phoenix Sydney Melbourne Berlin Rome Hamburg Vienna Warsaw Budapest Munich Milan
Prague Sofia Brussels Birmingham Cologne Naples Turin Marseille Stockholm Amsterdam Valencia Zagreb Krakow Frankfurt
Seville Athens Helsinki Rotterdam Oslo Copenhagen Dublin Lisbon Lyon Glasgow Manchester Zurich Geneva Edinburgh
Montreal Vancouver Calgary Ottawa Seattle Denver Austin Portland Nashville Detroit Baltimore Minneapolis Cleveland
Auckland Wellington Perth Brisbane Adelaide Cape_Town Nairobi Casablanca Tunis Accra Dakar Addis_Ababa Kampala Quito
Montevideo Asuncion La_Paz Caracas Havana Panama_City San_Jose Kyoto Sapporo Busan Taipei Hanoi Phnom_Penh Kathmandu
Colombo Tashkent Almaty Baku Tbilisi Yerevan Beirut Amman Doha Dubai Abu_Dhabi Muscat Kuwait_City Reykjavik Tallinn
Riga Vilnius Minsk Kyiv Bucharest Belgrade Ljubljana Bratislava Porto Bilbao Bordeaux Nice Strasbourg Antwerp Ghent
Utrecht Gothenburg Malmo Bergen Aarhus Tampere Gdansk Wroclaw Poznan Brno Graz Salzburg Innsbruck Basel Bern Lausanne
""")

# ISO 3166-1: (alpha-2 code, English short name)
COUNTRIES = [
    ("US", "United States"), ("CN", "China"), ("IN", "India"), ("BR", "Brazil"), ("DE", "Germany"),
    ("GB", "United Kingdom"), ("FR", "France"), ("JP", "Japan"), ("IT", "Italy"), ("ES", "Spain"),
    ("CA", "Canada"), ("MX", "Mexico"), ("AU", "Australia"), ("NL", "Netherlands"), ("SE", "Sweden"),
    ("NO", "Norway"), ("DK", "Denmark"), ("FI", "Finland"), ("PL", "Poland"), ("PT", "Portugal"),
    ("IE", "Ireland"), ("BE", "Belgium"), ("CH", "Switzerland"), ("AT", "Austria"), ("CZ", "Czechia"),
    ("HU", "Hungary"), ("RO", "Romania"), ("GR", "Greece"), ("TR", "Turkey"), ("RU", "Russia"),
    ("UA", "Ukraine"), ("ZA", "South Africa"), ("NG", "Nigeria"), ("EG", "Egypt"), ("KE", "Kenya"),
    ("MA", "Morocco"), ("AR", "Argentina"), ("CL", "Chile"), ("CO", "Colombia"), ("PE", "Peru"),
    ("KR", "South Korea"), ("SG", "Singapore"), ("TH", "Thailand"), ("VN", "Vietnam"), ("ID", "Indonesia"),
    ("MY", "Malaysia"), ("PH", "Philippines"), ("NZ", "New Zealand"), ("IL", "Israel"), ("AE", "United Arab Emirates"),
    ("SA", "Saudi Arabia"), ("PK", "Pakistan"), ("BD", "Bangladesh"), ("TW", "Taiwan"), ("HK", "Hong Kong"),
    ("IS", "Iceland"), ("EE", "Estonia"), ("LV", "Latvia"), ("LT", "Lithuania"), ("HR", "Croatia"),
]

PRODUCT_ADJECTIVES = _split("""
small large ergonomic rustic modern classic compact portable wireless smart durable lightweight heavy premium basic
vintage sleek organic recycled handmade deluxe mini ultra eco soft hard waterproof foldable adjustable electric manual
quiet fast slim bright dark golden silver wooden steel cotton leather glass ceramic bamboo woolen plastic rubber
""")

PRODUCT_NOUNS = _split("""
lamp chair table desk sofa shelf mug bottle kettle toaster blender knife pan pot plate bowl spoon fork glass vase
clock mirror rug pillow blanket towel bag backpack wallet watch belt hat scarf glove sock shoe boot jacket shirt
sweater dress skirt jeans keyboard mouse monitor laptop tablet phone charger cable speaker headphones camera tripod
drone printer router notebook pen pencil marker stapler folder lamp_shade candle frame puzzle ball racket bicycle
helmet tent lantern stove cooler hammock umbrella basket planter hose shovel rake drill saw hammer wrench toolbox
""")

WORDS = _split("""
the of and to in is for on with as by at from that this be are was it an or which have not but all can will one
data design system time year people way day man thing woman life child world school state family student group
country problem hand part place case week company number point home water room mother area money story fact month
lot right study book eye job word business issue side kind head house service friend father power hour game line
end member law car city community name president team minute idea kid body information back parent face others
level office door health person art war history party result change morning reason research girl guy moment air
teacher force education quality simple fresh quick light strong clear open happy early late great small large new
""")

STREET_SUFFIXES = ["Street", "Avenue", "Road", "Lane", "Drive", "Way", "Place", "Court", "Boulevard", "Square"]
EMAIL_DOMAINS = ["example.com", "example.org", "example.net", "mail.test", "inbox.test", "corp.test"]
URL_TLDS = ["com", "org", "net", "io", "dev", "test"]
CURRENCIES = ["USD", "EUR", "GBP", "JPY", "CHF", "CAD", "AUD", "SEK", "NOK", "DKK"]
LANGUAGES = ["en", "de", "fr", "es", "it", "pt", "nl", "sv", "ja", "zh"]
COLORS = ["red", "green", "blue", "black", "white", "grey", "yellow", "orange", "purple", "brown"]
STATUSES = ["active", "pending", "inactive", "suspended"]
ORDER_STATUSES = ["new", "paid", "shipped", "delivered", "cancelled"]
