#!/usr/bin/env python3
"""Generated text-classification sets for bench/text.sh. Stdlib only, seeded.

  bench/text_data.py OUT_DIR [SEED]

writes OUT_DIR/intent_en/ and OUT_DIR/sentiment_zh/ (see bench/text_common.py for the files).

intent_en: CLINC150-like English intents with out-of-scope queries. Banking, shopping, travel
  and assistant intents; related intents share vocabulary (card_lost / card_stolen /
  card_declined, order_status / refund_status / transfer_status, *_cancel / *_change across
  domains), a few templates are deliberately ambiguous between two intents, and a quarter of
  the messages carry a clause about another domain ("i paid with my visa"). Paraphrase
  templates with slot fillers, typos, dropped words, filler openings and endings. About a
  quarter of each intent's templates and of the slot fillers appear only in the test set, and
  40% of the test rows use them, so the test measures generalisation, not recall of the train
  set. Out-of-scope rows (label `oos`): ~1.5% of train, ~10% of test, mostly on topics that do
  not occur in train.

sentiment_zh: Chinese food-delivery and hotel reviews (positive/negative, no spaces) composed
  from aspect phrases, negations (不好吃, 一点也不贵), intensifiers, mixed opinions where the
  clause after a contrast (但是, 不过, 可是, 总的来说) decides, minor complaints after 就是/只是
  that do not flip a positive review, a little sarcasm and 2% flipped labels (as in the
  crowd-labelled public sets). Some adjectives and aspects occur only in the test set."""
import os
import random
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from text_common import write_dataset  # noqa: E402

OUT = sys.argv[1] if len(sys.argv) > 1 else "bench/out/text"
SEED = int(sys.argv[2]) if len(sys.argv) > 2 else 7
TRAIN_PER_INTENT, TEST_PER_INTENT = 100, 20
TRAIN_OOS, TEST_OOS_FRACTION = 150, 0.10
HELD_OUT_TEMPLATES, HELD_OUT_TEST_SHARE = 0.25, 0.3

# ---------------------------------------------------------------- English intents

# Slot fillers: (train, test-only). Domain objects are slots too ({card}, {order}, ...).
SLOTS = {
    "amount": (["$50", "20 dollars", "100 euros", "$1,200", "five hundred bucks", "300 pounds", "$75.99", "40 bucks"],
               ["$15", "two grand", "80 euros"]),
    "when": (["yesterday", "last week", "this morning", "two days ago", "on monday", "last night", "an hour ago",
              "over the weekend"], ["earlier today", "on friday", "a few days back"]),
    "place": (["paris", "tokyo", "new york", "london", "chicago", "berlin", "toronto", "sydney"],
              ["madrid", "seoul", "denver"]),
    "merchant": (["amazon", "the grocery store", "a gas station", "walmart", "starbucks", "a restaurant", "target",
                  "an online shop"], ["ikea", "the pharmacy", "a hotel"]),
    "person": (["my mom", "my landlord", "john", "a friend", "my brother", "my roommate", "sarah", "my boss"],
               ["my cousin", "alex", "my neighbour"]),
    "lang": (["spanish", "french", "german", "italian", "japanese", "chinese", "russian", "portuguese"],
             ["korean", "dutch", "arabic"]),
    "word": (["necessary", "rhythm", "serendipity", "ephemeral", "onomatopoeia", "bureaucracy", "quixotic",
              "mnemonic"], ["ubiquitous", "cacophony", "paradigm"]),
    "time": (["7 am", "6:30", "noon", "8 in the morning", "5 pm", "midnight", "quarter past nine", "10:15"],
             ["6 am", "half past seven", "9 pm"]),
    "dur": (["10 minutes", "an hour", "90 seconds", "half an hour", "five minutes", "two hours", "45 minutes",
             "20 minutes"], ["three minutes", "an hour and a half", "15 minutes"]),
    "task": (["call the dentist", "pay rent", "buy milk", "pick up the kids", "water the plants", "renew my passport",
              "send the report", "take my medicine"], ["book a haircut", "feed the cat", "file taxes"]),
    "math": (["15 times 7", "the square root of 144", "200 divided by 8", "12 plus 45", "18 percent of 250",
              "3 to the power of 5", "1000 minus 387", "9 times 9"], ["25 percent of 80", "144 divided by 12", "7 squared"]),
    "day": (["tomorrow", "friday", "next monday", "this weekend", "tonight", "the 15th", "next week", "saturday"],
            ["thursday", "the end of the month", "sunday"]),
    "currency": (["dollars", "euros", "yen", "pounds", "pesos", "rupees", "francs", "won"], ["yuan", "krona", "rand"]),
    "song": (["some jazz", "taylor swift", "my workout playlist", "the beatles", "relaxing music", "classical music",
              "something upbeat", "lofi beats"], ["some rock", "drake", "my road trip mix"]),
    "item": (["eggs", "bread", "paper towels", "coffee", "bananas", "dish soap", "rice", "toothpaste"],
             ["olive oil", "batteries", "cereal"]),
    # domain objects
    "card": (["card", "credit card", "debit card", "bank card", "visa", "mastercard"], ["amex", "chip card"]),
    "order": (["order", "package", "parcel", "purchase", "shipment", "delivery"], ["online order", "box"]),
    "refund": (["refund", "money back", "reimbursement", "refund request"], ["return credit"]),
    "transfer": (["transfer", "wire", "bank transfer", "money transfer", "payment to my friend"],
                 ["wire transfer", "international transfer"]),
    "subscription": (["subscription", "membership", "premium plan", "monthly plan"], ["streaming plan", "annual plan"]),
    "reservation": (["reservation", "booking", "table reservation", "dinner reservation", "hotel room"],
                    ["restaurant booking"]),
    "flight": (["flight", "plane ticket", "airline ticket", "trip"], ["connecting flight", "return flight"]),
    "account": (["account", "bank account", "savings account", "checking account"], ["joint account"]),
    "loan": (["loan", "mortgage", "personal loan", "car loan"], ["student loan"]),
}

# Actions shared by several domains: intent = domain_action, templates use {obj}.
ACTIONS = {
    "status": ["where is my {obj}", "what is the status of my {obj}", "any update on my {obj}",
               "can you check on my {obj}", "has my {obj} gone through yet", "i'm still waiting on my {obj}",
               "how is my {obj} coming along", "track my {obj}", "is my {obj} still [processing|pending]",
               "when will my {obj} be [done|ready|complete]", "check the progress of my {obj}",
               "i want to know what's happening with my {obj}", "[any news|news] about the {obj} i [made|did] {when}",
               "what happened to my {obj}", "why is my {obj} taking so long"],
    "cancel": ["cancel my {obj}", "i want to cancel the {obj}", "please call off my {obj}", "i no longer need the {obj}",
               "stop the {obj} please", "how do i cancel a {obj}", "get rid of my {obj}",
               "i changed my mind about the {obj}, cancel it", "undo my {obj}", "can the {obj} still be cancelled",
               "drop my {obj}", "terminate my {obj}", "i don't want the {obj} anymore", "kill the {obj} i [made|set up] {when}"],
    "change": ["change my {obj}", "i need to update my {obj}", "can i modify the {obj}", "edit the details of my {obj}",
               "how do i make changes to my {obj}", "switch my {obj} to [a different one|another option]",
               "i want to adjust my {obj}", "update the {obj} i made {when}", "fix a mistake in my {obj}",
               "can you alter my {obj}", "i [entered|put] the wrong details on my {obj}", "move my {obj} to {day}"],
    "new": ["i want to make a new {obj}", "how do i set up a {obj}", "start a {obj} for me", "open a {obj}",
            "i'd like to get a {obj}", "can you help me create a {obj}", "sign me up for a {obj}", "i need a new {obj}",
            "how can i apply for a {obj}", "set me up with a {obj} [please|today]", "book a {obj} for {day}",
            "what do i need to get a {obj}"],
    "fee": ["how much does a {obj} cost", "what are the fees for a {obj}", "is there a charge for a {obj}",
            "will i pay anything for the {obj}", "what's the price of a {obj}", "are there fees on my {obj}",
            "how expensive is a {obj}", "do you charge for a {obj}", "why was i charged a fee for my {obj}",
            "what does the {obj} cost per month"],
    "limit": ["what is the limit on my {obj}", "how much can i [use|spend with] my {obj}", "is there a maximum for a {obj}",
              "raise the limit on my {obj}", "what's the most i can [send|spend] with my {obj}", "increase my {obj} limit",
              "is there a cap on my {obj}", "can i go over {amount} on my {obj}", "lower the limit on my {obj}"],
    "failed": ["my {obj} failed", "something went wrong with my {obj}", "my {obj} didn't work",
               "there's an error with my {obj}", "the {obj} was rejected", "why did my {obj} fail",
               "my {obj} got [declined|bounced back]", "i got an error message on my {obj}", "the {obj} isn't going through",
               "the {obj} to {person} [never arrived|bounced]"],
}
GRID = {
    "card": ["cancel", "limit", "fee", "status"],
    "order": ["status", "cancel", "change"],
    "refund": ["status"],
    "transfer": ["status", "cancel", "failed", "fee", "limit", "new"],
    "subscription": ["cancel", "change", "new", "fee"],
    "reservation": ["cancel", "change", "new", "status"],
    "flight": ["status", "cancel", "change", "new"],
    "account": ["new", "cancel", "change", "fee"],
    "loan": ["status", "new", "fee"],
}

# Intents with their own templates. [a|b] picks one; {slot} fills a slot.
CUSTOM = {
    # banking
    "card_lost": ["i [lost|misplaced] my {card}", "i can't find my {card} anywhere", "i think i left my {card} at {merchant}",
                  "my {card} is [gone|missing]", "what do i do if i lose my {card}", "i dropped my {card} somewhere",
                  "lost {card}, need help", "my wallet with my {card} is lost", "i don't know where my {card} is",
                  "i don't have my {card} anymore"],
    "card_stolen": ["my {card} was stolen", "someone stole my {card}", "i got pickpocketed and they took my {card}",
                    "my {card} is [gone|missing]", "a thief took my {card}", "my purse was stolen with my {card} in it",
                    "i was robbed {when} and my {card} was taken", "report a stolen {card}",
                    "someone took my {card} out of my bag", "i don't have my {card} anymore"],
    "card_declined": ["my {card} got declined at {merchant}", "why was my {card} declined", "my {card} isn't working",
                      "the {card} was rejected when i tried to pay", "payment with my {card} keeps failing",
                      "{merchant} wouldn't accept my {card}", "my {card} was refused {when}",
                      "why won't my {card} go through", "the machine said my {card} was denied"],
    "card_activate": ["activate my {card}", "how do i activate my new {card}", "my {card} arrived, how do i turn it on",
                      "i need to activate the {card} i [got|received]", "set up my new {card}",
                      "the new {card} came in the mail, what now", "enable my {card}", "make my {card} work"],
    "card_damaged": ["my {card} is [broken|damaged|cracked]", "the chip on my {card} stopped working",
                     "my {card} snapped in half", "the strip on my {card} is worn out", "my {card} got bent",
                     "my dog chewed my {card}", "my {card} doesn't read anymore", "the {card} won't scan, it's damaged"],
    "pin_change": ["change my pin", "i want a new pin for my {card}", "how do i update my pin", "reset the pin on my {card}",
                   "set a different pin", "can i pick my own pin", "i'd like to change the pin code"],
    "pin_forgot": ["i forgot my pin", "what's my pin", "i can't remember the pin for my {card}",
                   "my pin is not coming back to me", "i don't know my {card} pin",
                   "how do i recover my pin", "pin forgotten, help"],
    "password_reset": ["reset my password", "i forgot my password", "i can't log in, forgot the password",
                       "how do i change my password", "send me a password reset link", "my password doesn't work",
                       "i need a new password for my {account}", "recover my login password"],
    "account_locked": ["my {account} is locked", "i'm locked out of my {account}", "why was my {account} frozen",
                       "unlock my {account}", "my {account} got blocked", "too many attempts and now i can't get in",
                       "my {account} has been suspended", "can you unfreeze my {account}"],
    "balance": ["what's my balance", "how much money do i have", "check my {account} balance",
                "how much is in my {account}", "tell me my current balance", "what's left in my {account}",
                "show me my available funds", "do i have enough money in my {account} for {amount}"],
    "transactions": ["show my recent transactions", "what did i spend {when}", "list my last purchases",
                     "show me the charges on my {card}", "what payments went out of my {account} {when}",
                     "i want to see my transaction history", "what did i buy at {merchant}", "my spending this month"],
    "direct_deposit": ["set up direct deposit", "how do i get my paycheck deposited", "i need my routing number for payroll",
                       "get my salary paid into my {account}", "form for direct deposit", "when does my direct deposit hit",
                       "my employer needs my [routing|account] number"],
    "exchange_rate": ["what's the exchange rate for {currency}", "how many {currency} for {amount}",
                      "convert {amount} to {currency}", "what is the rate between dollars and {currency}",
                      "how much are {currency} worth today", "exchange rate for {currency} please"],
    "report_fraud": ["i see a charge i didn't make", "there's fraud on my {account}", "someone used my {card} without permission",
                     "report fraudulent activity", "unknown transactions on my {card}", "i think my {account} was hacked",
                     "a charge from {merchant} that isn't mine", "somebody is spending my money"],
    "dispute_charge": ["dispute a charge", "i was charged twice at {merchant}", "wrong amount charged on my {card}",
                       "i want to contest a payment", "the merchant overcharged me {amount}",
                       "i got billed for something i returned", "challenge a charge on my {card}",
                       "the amount on my {card} is wrong"],
    "interest_rate": ["what's the interest rate on my {account}", "what apr do you offer", "interest on a {loan}",
                      "how much interest do i earn", "what is the current rate for savings", "rates on a {loan}",
                      "what interest will i pay on my {card}"],
    "credit_score": ["what's my credit score", "how do i improve my credit", "check my credit rating",
                     "will a {loan} hurt my credit score", "why did my credit score drop", "show me my credit report"],
    "bill_pay": ["pay my [electric|phone|water|internet] bill", "i need to pay a bill", "pay {amount} to {person}",
                 "send a payment for my [rent|utilities]", "make a bill payment from my {account}",
                 "schedule a payment for {day}", "pay the [cable|gas] company"],
    "bill_due": ["when is my [electric|phone|water|internet] bill due", "how much do i owe on my bills",
                 "when's the due date for my {card} payment", "do i have any bills coming up",
                 "what bills are due {day}", "remind me when my bill is due"],
    # shopping
    "order_damaged": ["my {order} arrived damaged", "the item in my {order} is broken", "the box was crushed",
                      "my {order} came [smashed|cracked|ripped]", "what i ordered showed up broken",
                      "the product is defective", "everything in the {order} was [wet|dented]"],
    "order_missing_item": ["an item is missing from my {order}", "my {order} came without [the charger|one item|the shoes]",
                           "i only got part of my {order}", "something i paid for wasn't in the {order}",
                           "the {order} was incomplete", "half my {order} is missing",
                           "where is the rest of my {order}"],
    "order_return": ["how do i return an item", "i want to send back my {order}", "start a return",
                     "return policy for my {order}", "can i return this if i don't like it", "print a return label",
                     "i need to exchange this for a different size", "send this back"],
    "refund_request": ["i want a refund", "can i get my money back", "refund me for my {order}",
                       "how do i request a {refund}", "give me a refund for the {order}", "i deserve my money back",
                       "i'd like a refund for the charge from {merchant}", "please refund {amount}"],
    "shipping_options": ["what shipping options do you have", "do you offer express delivery",
                         "how long does standard shipping take", "can i get next day delivery",
                         "do you ship to {place}", "shipping costs to {place}", "is there free shipping"],
    "payment_methods": ["what payment methods do you accept", "can i pay with paypal", "do you take {card}",
                        "can i pay in installments", "is apple pay accepted", "how can i pay for my {order}",
                        "can i pay cash on delivery"],
    "redeem_voucher": ["how do i use a gift card", "apply a promo code", "my discount code isn't working",
                       "redeem a voucher on my {order}", "where do i enter a coupon", "i have a gift certificate",
                       "use my store credit for the {order}"],
    # travel
    "baggage_lost": ["the airline lost my luggage", "my bag didn't arrive in {place}", "my suitcase is missing",
                     "where is my checked bag", "lost luggage on my {flight}", "my bags never showed up on the carousel"],
    "baggage_allowance": ["how many bags can i bring", "what's the carry on limit", "how heavy can my suitcase be",
                          "baggage allowance for my {flight}", "can i bring two bags on the {flight}",
                          "what's the fee for an extra bag"],
    "check_in": ["check me in for my {flight}", "can i check in online", "when does check in open",
                 "i want to check in for the {flight} to {place}", "get my boarding pass", "online check in for {day}"],
    "flight_delay": ["is my {flight} delayed", "my {flight} is late", "why is the {flight} to {place} delayed",
                     "how long is the delay on my {flight}", "the {flight} got pushed back",
                     "will my {flight} leave on time"],
    "car_rental": ["rent a car in {place}", "i need a rental car for {day}", "book a car for my trip",
                   "how much to rent an suv", "car hire in {place}", "reserve a rental car"],
    "travel_visa": ["do i need a visa for {place}", "visa requirements for {place}", "what documents to travel to {place}",
                    "can i go to {place} without a visa", "how do i get a travel visa"],
    # assistant
    "greeting": ["hi", "hello there", "hey how are you", "good morning", "what's up", "howdy", "hey there, how's it going",
                 "hello, anyone there"],
    "goodbye": ["bye", "goodbye", "see you later", "talk to you later", "i'm done, bye", "that's all, goodbye",
                "catch you later", "have a good one"],
    "thank_you": ["thanks", "thank you so much", "thanks for the help", "i appreciate it", "thank you, that helped",
                  "cheers, thanks", "many thanks"],
    "weather": ["what's the weather like", "will it rain {day}", "weather in {place}", "is it cold outside",
                "do i need an umbrella {day}", "what's the forecast for {day}", "how hot will it be in {place}",
                "is it going to snow {day}"],
    "time": ["what time is it", "tell me the time", "what time is it in {place}", "current time please",
             "do you know the time", "what's the time now in {place}"],
    "date": ["what's today's date", "what day is it", "what is the date {day}", "what day of the week is the 15th",
             "today's date please", "is today monday"],
    "timer": ["set a timer for {dur}", "start a {dur} timer", "timer {dur}", "count down {dur}",
              "can you time {dur} for me", "put a timer on for {dur}"],
    "alarm_set": ["set an alarm for {time}", "wake me up at {time}", "alarm at {time} {day}",
                  "i need an alarm for {time}", "create an alarm for {time}", "make sure i'm up by {time}"],
    "alarm_cancel": ["cancel my alarm", "turn off the {time} alarm", "delete my alarm for {day}",
                     "i don't need the alarm anymore", "remove all alarms", "stop the alarm for {time}"],
    "reminder_set": ["remind me to {task}", "set a reminder to {task} {day}", "don't let me forget to {task}",
                     "remind me at {time} to {task}", "create a reminder: {task}", "i need a reminder to {task}"],
    "reminder_list": ["what are my reminders", "show my reminders", "do i have any reminders {day}",
                      "list everything you're reminding me about", "what did i ask you to remind me"],
    "calendar": ["what's on my calendar {day}", "do i have any meetings {day}", "what's my schedule",
                 "am i free {day}", "what appointments do i have {day}", "check my calendar"],
    "translate": ["how do you say hello in {lang}", "translate thank you into {lang}", "what is good night in {lang}",
                  "say this in {lang}: where is the station", "how would i say cheers in {lang}",
                  "translate this to {lang}"],
    "spelling": ["how do you spell {word}", "spell {word} for me", "what's the spelling of {word}",
                 "is {word} spelled right", "can you spell {word}"],
    "definition": ["what does {word} mean", "define {word}", "what's the meaning of {word}", "definition of {word}",
                   "tell me what {word} means"],
    "calculator": ["what is {math}", "calculate {math}", "can you work out {math}", "what's {math}",
                   "help me with {math}", "solve {math}"],
    "tell_joke": ["tell me a joke", "make me laugh", "know any good jokes", "say something funny", "i need a joke",
                  "tell me a [funny|silly] one"],
    "fun_fact": ["tell me a fun fact", "give me a random fact", "tell me something interesting",
                 "share a fact about [animals|space|history]", "i want to learn something new"],
    "who_made_you": ["who made you", "who built you", "what company created you", "who programmed you",
                     "where do you come from", "who is your developer"],
    "your_name": ["what's your name", "what should i call you", "do you have a name", "tell me your name",
                  "who am i talking to"],
    "are_you_a_bot": ["are you a robot", "am i talking to a real person", "are you human",
                      "is this an automated chat", "are you a bot or a person"],
    "talk_to_human": ["let me talk to a human", "i want a real person", "connect me to an agent",
                      "get me customer service", "can i speak to a representative", "transfer me to a person",
                      "i need to speak with someone"],
    "repeat": ["can you repeat that", "say that again", "what did you just say", "i didn't catch that",
               "repeat please", "come again"],
    "change_language": ["switch to {lang}", "can you speak {lang}", "change your language to {lang}",
                        "talk to me in {lang}", "i prefer {lang}, please change it"],
    "play_music": ["play {song}", "put on {song}", "i want to listen to {song}", "start playing {song}",
                   "can you play {song}", "music please, {song}"],
    "shopping_list_add": ["add {item} to my shopping list", "put {item} on the list", "i need to buy {item}, add it",
                          "shopping list: add {item}", "don't forget {item} on my grocery list"],
    "shopping_list_show": ["what's on my shopping list", "show me the grocery list", "read my shopping list",
                           "what do i need to buy", "is {item} on my list"],
}

# Out of scope: nothing the assistant handles; some share words with in-scope intents.
OOS_TEMPLATES = ["how do i {act}", "what's the best way to {act}", "can you teach me to {act}", "i want to {act}",
                 "any tips on how to {act}", "what is {fact}", "tell me {fact}", "do you know {fact}", "{fact}?",
                 "recommend a good {thing}", "where can i find a good {thing}", "which {thing} should i get",
                 "i'm looking for a {thing}", "help me {act}", "i need to {act}", "is it possible to {act}",
                 "what do i need to {act}", "can you {act} for me", "what's your opinion on {thing}s"]
OOS_FILL = {
    "act": (["bake sourdough bread", "fix a flat tire", "train my puppy", "learn to juggle", "knit a scarf",
             "grow tomatoes", "paint a room", "write a resume", "tie a tie", "change a light bulb",
             "reset my router", "transfer photos to my laptop", "lose weight fast", "book a yoga class"],
            ["unclog a drain", "make sushi", "cancel my gym membership", "check the oil in my car",
             "order a pizza", "become a pilot", "solve a rubik's cube", "fold a fitted sheet", "apply for college",
             "open a stuck jar", "stop snoring", "learn the guitar", "card tricks for kids", "return a library book"]),
    "fact": (["the capital of peru", "how tall mount everest is", "the population of canada",
              "how far away the moon is", "who wrote hamlet", "the speed of light", "how many bones are in the body"],
             ["when the titanic sank", "how deep the ocean is", "who painted the mona lisa", "the largest planet",
              "how old the universe is", "who invented the telephone", "the boiling point of water",
              "how many countries are in africa", "the fastest animal on earth"]),
    "thing": (["book to read", "movie tonight", "podcast", "hiking trail", "video game", "laptop for school"],
              ["pair of running shoes", "board game", "dentist", "sushi place", "camping tent", "used car",
               "guitar teacher", "house plant"]),
}

PREFIXES = ["hey", "hi", "hello", "excuse me", "so", "um", "ok so", "quick question", "please", "can you help",
            "i need help", "i was wondering", "hey there", "good morning", "hi, um", "yo"]
SUFFIXES = ["please", "thanks", "thank you", "asap", "right now", "today", "if possible", "for me", "real quick",
            "thx", "pls", "now"]
DISTRACTORS = ["i paid with my {card}", "it's about the {order} from {when}", "i already checked my {account}",
               "i'm flying out on my {flight} soon", "my {subscription} renews next week",
               "i just made a {transfer} to {person}", "i have a {reservation} tonight", "my {loan} payment is due",
               "i used the app {when}", "this is the second time i'm asking", "my {refund} is a separate issue",
               "i'm on my phone", "i tried the website already", "my {card} is fine by the way",
               "i'm at {merchant} right now", "{person} told me to ask"]
DROPPABLE = {"the", "a", "my", "to", "is", "i", "for", "an", "me", "please"}
KEYS = "qwertyuiopasdfghjklzxcvbnm"


class Filler:
    def __init__(self, rng, slots):
        self.rng, self.slots = rng, slots

    def fill(self, template, test, extra=None):
        rng = self.rng

        def alt(m):
            return rng.choice(m.group(1).split("|"))

        s = re.sub(r"\[([^\]]+)\]", alt, template)

        def slot(m):
            name = m.group(1)
            if extra and name in extra:
                return extra[name]
            train, held = self.slots[name]
            pool = train + held if test else train
            return rng.choice(pool)

        return re.sub(r"\{(\w+)\}", slot, s)


def typo(word, rng):
    if len(word) < 4 or not word.isalpha():
        return word
    i = rng.randrange(1, len(word) - 1)
    op = rng.randrange(4)
    if op == 0:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if op == 1:
        return word[:i] + word[i + 1:]
    if op == 2:
        return word[:i] + word[i] + word[i:]
    return word[:i] + rng.choice(KEYS) + word[i + 1:]


def dress(text, rng, filler, test):
    """Filler openings and endings, a clause about something else, dropped words,
    typos, casing and punctuation."""
    if rng.random() < 0.25:
        d = filler.fill(rng.choice(DISTRACTORS), test)
        text = f"{d}, {text}" if rng.random() < 0.5 else f"{text}, {d}"
    words = text.split()
    if len(words) > 3 and rng.random() < 0.2:
        cand = [k for k, w in enumerate(words) if w in DROPPABLE]
        if cand:
            del words[rng.choice(cand)]
    words = [typo(w, rng) if rng.random() < 0.04 else w for w in words]
    text = " ".join(words)
    if rng.random() < 0.3:
        text = f"{rng.choice(PREFIXES)}{rng.choice([',', '', ' -'])} {text}"
    if rng.random() < 0.25:
        text = f"{text}{rng.choice([',', ''])} {rng.choice(SUFFIXES)}"
    r = rng.random()
    if r < 0.35:
        text += "?"
    elif r < 0.45:
        text += "."
    elif r < 0.5:
        text += "!"
    r = rng.random()
    if r < 0.35:
        text = text[:1].upper() + text[1:]
    elif r < 0.38:
        text = text.upper()
    return text


def split_templates(templates, rng):
    t = templates[:]
    rng.shuffle(t)
    held = int(round(len(t) * HELD_OUT_TEMPLATES)) if len(t) >= 4 else 0
    return t[held:], t[:held]


def intents(rng):
    """intent -> (train templates, held-out templates, extra slots)."""
    out = {}
    for domain, actions in GRID.items():
        for action in actions:
            seen, held = split_templates(ACTIONS[action], rng)
            out[f"{domain}_{action}"] = (seen, held, domain)
    for name, templates in CUSTOM.items():
        seen, held = split_templates(templates, rng)
        out[name] = (seen, held, None)
    return out


def english(out_dir):
    rng = random.Random(SEED)
    filler = Filler(rng, SLOTS)
    table = intents(rng)
    train, test = [], []

    def make(intent, test_row):
        seen, held, domain = table[intent]
        pool = held if (test_row and held and rng.random() < HELD_OUT_TEST_SHARE) else seen
        extra = None
        if domain:
            objs = SLOTS[domain][0] + (SLOTS[domain][1] if test_row else [])
            extra = {"obj": rng.choice(objs)}
        return dress(filler.fill(rng.choice(pool), test_row, extra), rng, filler, test_row)

    for intent in sorted(table):
        for _ in range(TRAIN_PER_INTENT):
            train.append(make(intent, False) + "\t" + intent)
        for _ in range(TEST_PER_INTENT):
            test.append(make(intent, True) + "\t" + intent)
    oos_filler = Filler(rng, OOS_FILL)
    oos_seen, oos_held = split_templates(OOS_TEMPLATES, rng)
    for _ in range(TRAIN_OOS):
        train.append(dress(oos_filler.fill(rng.choice(oos_seen), False), rng, filler, False) + "\toos")
    n_test_oos = int(round(len(test) * TEST_OOS_FRACTION / (1 - TEST_OOS_FRACTION)))
    held_filler = Filler(rng, {k: (v[1], []) for k, v in OOS_FILL.items()})
    for _ in range(n_test_oos):
        f = held_filler if rng.random() < 0.7 else oos_filler
        pool = oos_held if rng.random() < HELD_OUT_TEST_SHARE else oos_seen
        test.append(dress(f.fill(rng.choice(pool), True), rng, filler, True) + "\toos")
    rows = lambda lines, p: [(f"{p}{k}", *line.split("\t")) for k, line in enumerate(lines)]
    rng.shuffle(test)
    return write_dataset(f"{out_dir}/intent_en", "intent_en (generated, CLINC150-like)", "intent", "en",
                         rows(train, "tr"), rows(test, "te"), seed=SEED,
                         extra={"intents": len(table)})


# ---------------------------------------------------------------- Chinese sentiment

# aspect -> (aspect words, positive adjectives, negative adjectives, negatable negatives)
# Each list is (train, test-only). Negatable negatives: "一点也不X" / "不X" reads positive.
WAIMAI = {
    "taste": ((["味道", "口味", "菜", "饭菜", "这道菜"], ["口感"]),
              (["好吃", "香", "入味", "可口", "正宗", "鲜美", "下饭"], ["美味", "香喷喷的"]),
              (["难吃", "太咸", "没味道", "油腻", "腥", "寡淡", "齁咸"], ["一股怪味", "发酸"]),
              ["难吃", "咸", "油腻", "腥", "辣"]),
    "speed": ((["送餐", "配送", "送货", "外卖小哥", "骑手"], ["送餐速度"]),
              (["快", "准时", "及时", "神速", "很守时"], ["麻利"]),
              (["慢", "超时", "磨蹭", "迟到了一个小时", "拖拉"], ["慢吞吞"]),
              ["慢", "拖拉", "磨蹭"]),
    "portion": ((["分量", "量", "份量"], ["饭量"]),
                (["足", "多", "实在", "很大份", "管饱"], ["扎实"]),
                (["少", "太少", "不够吃", "少得可怜"], ["缩水了"]),
                ["少"]),
    "package": ((["包装", "餐盒", "打包"], ["外包装"]),
                (["严实", "精致", "干净", "用心"], ["讲究"]),
                (["漏了", "洒了一袋子", "破了", "简陋"], ["压扁了"]),
                ["简陋"]),
    "price": ((["价格", "价钱", "这个价"], ["性价比"]),
              (["便宜", "实惠", "划算", "值"], ["公道"]),
              (["贵", "太贵", "不值", "坑人"], ["离谱"]),
              ["贵"]),
    "temp": ((["米饭", "汤", "饭", "面"], ["粥"]),
             (["热乎", "还是热的", "烫嘴"], ["温度刚好"]),
             (["凉了", "冷了", "坨了", "凉透了"], ["结块了"]),
             ["凉", "冷"]),
}
HOTEL = {
    "room": ((["房间", "客房", "屋子"], ["房型"]),
             (["干净", "宽敞", "整洁", "舒适", "明亮"], ["敞亮"]),
             (["脏", "小", "有异味", "潮湿", "有霉味"], ["闷"]),
             ["脏", "小", "潮湿"]),
    "service": ((["服务", "前台", "服务员", "工作人员"], ["管家"]),
                (["热情", "周到", "耐心", "专业", "贴心"], ["体贴"]),
                (["冷淡", "态度差", "爱答不理", "不耐烦", "敷衍"], ["傲慢"]),
                ["冷淡", "敷衍"]),
    "location": ((["位置", "交通", "地段"], ["地理位置"]),
                 (["方便", "好找", "离地铁近", "便利"], ["优越"]),
                 (["偏", "不好找", "太远", "偏僻"], ["绕"]),
                 ["偏", "远", "偏僻"]),
    "breakfast": ((["早餐", "自助早餐", "早饭"], ["餐厅"]),
                  (["丰富", "好吃", "种类多", "可口"], ["花样多"]),
                  (["单调", "难吃", "种类少", "凉"], ["寒酸"]),
                  ["单调", "难吃"]),
    "noise": ((["隔音", "环境"], ["周边"]),
              (["好", "安静", "不错"], ["静谧"]),
              (["差", "吵", "很吵", "太吵"], ["嘈杂"]),
              ["吵"]),
    "bed": ((["床", "床垫", "枕头"], ["被子"]),
            (["舒服", "软硬适中", "很软"], ["蓬松"]),
            (["太硬", "不舒服", "塌了", "有污渍"], ["硌人"]),
            ["硬"]),
    "facility": ((["设施", "卫生间", "空调", "热水"], ["电视"]),
                 (["新", "齐全", "好用", "很新"], ["先进"]),
                 (["陈旧", "老化", "坏了", "不好用"], ["失灵"]),
                 ["旧"]),
}
POSITIVE_POOL = ["很", "非常", "特别", "超级", "挺", "真", "相当", "蛮", ""]
NEGATIVE_POOL = ["很", "太", "特别", "有点", "有些", "超级", "真", "比较", ""]
OVERALL_POS = (["下次还会再来", "还会再点", "推荐", "五星好评", "很满意", "物超所值", "值得入住", "好评", "赞",
                "超出预期", "会回购", "总体不错", "给个好评"], ["强烈推荐", "满分", "惊喜"])
OVERALL_NEG = (["再也不会点了", "不推荐", "差评", "太失望了", "很失望", "后悔", "不会再来了", "踩雷了", "避雷",
                "退款了", "浪费钱", "体验很差"], ["拉黑了", "一星都不想给", "糟心"])
CONTEXT = {"waimai": (["第一次点这家", "朋友推荐的", "老顾客了", "中午点的", "点了个{dish}", "加班点的外卖",
                       "给孩子点的", "下雨天点的"], ["周末点的"]),
           "hotel": (["出差住的", "带孩子住了两晚", "订的大床房", "来旅游住的", "住了一晚", "公司安排的",
                      "提前在网上订的"], ["陪父母住的"])}
DISHES = ["宫保鸡丁", "麻辣烫", "黄焖鸡", "炒饭", "牛肉面", "披萨", "烤鱼", "酸菜鱼", "饺子", "奶茶", "煲仔饭"]
CONTRAST = ["但是", "不过", "可是", "然而", "但"]
SUMMARY = ["总的来说", "总体来说", "总之", "综合来看", "整体上"]
SARCASM = ["呵呵，{a}真是{i}“{p}”啊", "{a}可真{p}，等了两个小时", "真行，{a}{p}得让人感动"]


def zh_pick(pair, rng, test):
    train, held = pair
    if test and held and rng.random() < 0.3:
        return rng.choice(held)
    return rng.choice(train)


def zh_clause(aspects, polarity, rng, test):
    """One aspect judged with the given polarity (+1 / -1), in one of several forms."""
    name = rng.choice(sorted(aspects))
    words, pos, neg, negatable = aspects[name]
    a = zh_pick(words, rng, test)
    r = rng.random()
    if polarity > 0:
        if r < 0.62:
            return a + rng.choice(POSITIVE_POOL) + zh_pick(pos, rng, test)
        if r < 0.85:
            return a + rng.choice(["一点也不", "一点都不", "并不", "不", "完全不", "没那么"]) + rng.choice(negatable)
        return a + rng.choice(["还可以", "挺好的", "没得说", "没问题", "无可挑剔"])
    if r < 0.6:
        return a + rng.choice(NEGATIVE_POOL) + zh_pick(neg, rng, test)
    if r < 0.85:
        p = rng.choice([w for w in pos[0] + (pos[1] if test else []) if len(w) <= 2])
        return a + rng.choice(["不", "不太", "一点也不", "并不", "不够", "没有想象中"]) + p
    return a + rng.choice(["不行", "一般般", "太差了", "不敢恭维", "有问题"])


def zh_review(domain, label, rng, test):
    aspects = WAIMAI if domain == "waimai" else HOTEL
    pol = 1 if label == "positive" else -1
    parts = []
    if rng.random() < 0.3:
        parts.append(zh_pick(CONTEXT[domain], rng, test).replace("{dish}", rng.choice(DISHES)))
    r = rng.random()
    if r < 0.42:  # one polarity throughout
        for _ in range(rng.choice([1, 1, 2, 2, 3])):
            parts.append(zh_clause(aspects, pol, rng, test))
    elif r < 0.72:  # mixed: the clause after the contrast decides
        lead = zh_clause(aspects, -pol, rng, test)
        if rng.random() < 0.3:
            lead = "虽然" + lead
        parts.append(lead)
        parts.append(rng.choice(CONTRAST) + zh_clause(aspects, pol, rng, test))
        if rng.random() < 0.4:
            parts.append(zh_clause(aspects, pol, rng, test))
    elif r < 0.8:  # several remarks, a summary decides
        parts.append(zh_clause(aspects, pol, rng, test))
        parts.append(zh_clause(aspects, -pol, rng, test))
        parts.append(rng.choice(SUMMARY) + zh_pick(OVERALL_POS if pol > 0 else OVERALL_NEG, rng, test))
    elif r < 0.88 and pol > 0:  # praise with a minor complaint that does not flip it
        parts.append(zh_clause(aspects, 1, rng, test))
        parts.append(rng.choice(["就是", "只是", "唯一不足是"]) + zh_clause(aspects, -1, rng, test).replace("太", "有点"))
    elif r < 0.92 and pol < 0:  # sarcasm
        name = rng.choice(sorted(aspects))
        words, pos, _, _ = aspects[name]
        parts.append(rng.choice(SARCASM).format(a=zh_pick(words, rng, test), p=zh_pick(pos, rng, test),
                                                i=rng.choice(["", "太", "好"])))
    else:  # short verdicts
        parts.append(zh_clause(aspects, pol, rng, test))
    if rng.random() < 0.45:
        parts.append(zh_pick(OVERALL_POS if pol > 0 else OVERALL_NEG, rng, test))
    seps = ["，", "，", "。", "！", " ", "～", ","]
    text = parts[0]
    for p in parts[1:]:
        text += rng.choice(seps) + p
    text += rng.choice(["", "。", "！", "！！", "~", "。。。"])
    if rng.random() < 0.05:
        text += ("😊" if pol > 0 else "😡") if rng.random() < 0.7 else rng.choice(["😊", "😡", "😂"])
    return text.replace(" ", "，")


def chinese(out_dir, n_train=10000, n_test=2000, flip=0.02):
    rng = random.Random(SEED + 1)
    rows = []
    for k in range(n_train + n_test):
        test = k >= n_train
        domain = "waimai" if rng.random() < 0.55 else "hotel"
        label = "positive" if rng.random() < 0.5 else "negative"
        text = zh_review(domain, label, rng, test)
        if rng.random() < flip:
            label = "negative" if label == "positive" else "positive"
        rows.append((f"{'te' if test else 'tr'}{k}", text, label))
    return write_dataset(f"{out_dir}/sentiment_zh", "sentiment_zh (generated, waimai/hotel-like)", "sentiment", "zh",
                         rows[:n_train], rows[n_train:], seed=SEED)


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    for meta in (english(OUT), chinese(OUT)):
        print(f"{meta['name']}: train {meta['train']} (oos {meta['train_oos']}), test {meta['test']} "
              f"(oos {meta['test_oos']}), {meta['labels']} labels")
