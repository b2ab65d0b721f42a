"""aco's demo agent: four LLM calls whose answers feed each other.

    answer = ask("Output the number 42")          # 42
    plus_one = ask(f"Add 1 to {answer}")          # 43   (uses answer)
    plus_two = ask(f"Add 2 to {answer}")          # 44   (uses answer)
    total = ask(f"Add {plus_one} to {plus_two}")  # 87   (uses both)

Run it with `aco-launch examples/demo/agent.py` and aco draws exactly that
graph: 4 nodes, 4 edges. It talks to whatever OPENAI_BASE_URL names; the demo
script points it at aco's mock LLM server, so it runs offline.
"""

from openai import OpenAI

client = OpenAI()
MODEL = "gpt-4o-mini"


def ask(prompt: str) -> str:
    response = client.responses.create(model=MODEL, input=prompt)
    return response.output_text.strip()


def ask_chat(prompt: str) -> str:
    completion = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": prompt}]
    )
    return completion.choices[0].message.content.strip()


def main() -> None:
    answer = ask("Output the number 42")
    plus_one = ask(f"Add 1 to {answer}")
    plus_two = ask_chat(f"Add 2 to {answer}")
    total = ask(f"Add {plus_one} to {plus_two}")
    print(f"{answer} + 1 = {plus_one}, {answer} + 2 = {plus_two}, sum = {total}")


if __name__ == "__main__":
    main()
