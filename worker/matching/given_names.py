"""Common given names of the region, to recognise a surname that belongs to someone else.

"Askarov" alone may stand for a watched Azimjan Askarov, but "Bakyt Askarov"
names his brother. A bare surname directly after a known given name is
therefore not counted as a mention; the given names of every watched person
are known too, so this list only needs the common names that nobody watches.
"""

from __future__ import annotations

from typing import Final

_NOMINATIVE_SPELLINGS: Final = (
    "Abdulla", "Abdurakhman", "Adilet", "Adilbek", "Aibek", "Aida", "Aidana", "Aidar", "Aidos",
    "Aigerim", "Aigul", "Aizhan", "Akbar", "Akmal", "Akylbek", "Alibek", "Alisher", "Almaz",
    "Altynai", "Amir", "Anvar", "Arman", "Arslan", "Asel", "Askar", "Aslan", "Ayan", "Azamat",
    "Azat", "Azim", "Azimjan", "Bakhodir", "Bakhtiyor", "Bakyt", "Batyr", "Bekzat", "Bobur",
    "Bolot", "Botir", "Chingiz", "Chyngyz", "Daniyar", "Dastan", "Dilnoza", "Dilshod", "Dinara",
    "Doniyor", "Elmira", "Erkin", "Erlan", "Ermek", "Farrukh", "Feruza", "Gulmira", "Gulnara",
    "Gulnoza", "Ilkhom", "Islam", "Jamshid", "Jasur", "Kairat", "Kamila", "Kanat", "Karim",
    "Kubat", "Madina", "Malika", "Marat", "Maksat", "Mirlan", "Mukhtar", "Nargiza", "Nurbek",
    "Nurlan", "Nursultan", "Odil", "Otabek", "Rakhim", "Ravshan", "Rustam", "Saltanat", "Sanjar",
    "Saule", "Serik", "Shakhnoza", "Sherzod", "Talant", "Temir", "Timur", "Tolkun", "Ulan",
    "Ulugbek", "Umid", "Zarina", "Zhanar", "Zhanibek", "Aleksandr", "Aleksey", "Anastasia",
    "Anatoly", "Andrey", "Anna", "Anton", "Arkady", "Artem", "Boris", "Daria", "Denis", "Dmitry",
    "Ekaterina", "Elena", "Evgeny", "Fedor", "Galina", "Gennady", "Georgy", "Grigory", "Igor",
    "Ilya", "Irina", "Ivan", "Kirill", "Konstantin", "Ksenia", "Larisa", "Leonid", "Lev",
    "Lyudmila", "Maksim", "Marina", "Maria", "Mikhail", "Nadezhda", "Natalia", "Nikita", "Nikolai",
    "Oleg", "Olga", "Pavel", "Petr", "Roman", "Ruslan", "Semen", "Sergey", "Stanislav", "Svetlana",
    "Tatiana", "Valentina", "Valery", "Vasily", "Vera", "Viktor", "Vitaly", "Vladimir",
    "Vladislav", "Vyacheslav", "Yaroslav", "Yulia", "Yury", "Zoya", "Bohdan", "Oksana", "Olena",
    "Serhiy", "Taras", "Volodymyr", "Yuliya", "Mykola", "Andriy", "Petro", "Oleh", "Ihor", "Olha",
    "Halyna", "Hryhoriy", "Ales", "Aliaksandr", "Siarhei", "Uladzimir", "Adam", "Alice",
    "Andrew", "Anne", "Ben", "Charles", "Daniel", "David", "Edward", "Elizabeth", "Emily", "Emma",
    "George", "Hannah", "Helen", "Henry", "Jack", "James", "Jane", "John", "Joseph", "Laura",
    "Lucy", "Mark", "Mary", "Matthew", "Michael", "Paul", "Peter", "Richard", "Robert", "Sam",
    "Sarah", "Sophie", "Thomas", "William", "Ahmad", "Ahmed", "Ali", "Fatima", "Hasan", "Hussein",
    "Ibrahim", "Khadija", "Mahmud", "Muhammad", "Mustafa", "Omar", "Yusuf",
)  # fmt: skip

GIVEN_NAMES: Final = frozenset(_NOMINATIVE_SPELLINGS)
"""Nominative spellings; they are folded, so any transliteration of them is recognised."""
