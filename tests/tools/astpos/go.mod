module escape-bot.invalid/astpos

go 1.21
