from openai import OpenAI

answer = OpenAI().responses.create(model="gpt-4o-mini", input="Output the number 42").output_text
with open("answer.txt", "w") as f:
    f.write(answer)
