#!/usr/bin/python3
"""Chat-template name-building fixtures of issue 11, checked with real Jinja2.

Each template builds a dunder name (__globals__, __builtins__, __init__,
__class__) by string construction - no dunder literal anywhere - and
subscripts the variable x with it. Rendered with an unsandboxed
jinja2.Environment (python3-jinja2), as vulnerable servers render chat
templates, x[name] falls back to getattr: with x a Python function the
template reaches its module globals. Each template is rendered here and
must print "reached".

Run from this directory: /usr/bin/python3 gen.py
"""
import hashlib

import jinja2

TAIL = '{% if (x[NAME]|length) > 0 %}reached{% endif %}'

TEMPLATES = {
    "namespace-loop": "{% set n = namespace(s='') %}{% for c in ['_','_','glo','bals','_','_'] %}{% set n.s = n.s ~ c %}{% endfor %}" + TAIL.replace("NAME", "n.s"),
    "percent-c": '{% set a = "glo" %}{% set b = a ~ "bals" %}{% set c = "%c%c" % (95, 95) %}' + TAIL.replace("NAME", "c ~ b ~ c"),
    "percent-c-repeat": '{% set p = ("%c" % 95) * 2 %}' + TAIL.replace("NAME", 'p ~ "globals" ~ p'),
    "dict-join": '{% set d = dict(_=1)|join %}' + TAIL.replace("NAME", '(d*2) ~ "globals" ~ (d*2)'),
    "upper-lower-replace": '{% set s = "gLOBALS"|upper|lower %}{% set u = "-"|replace("-", "_") %}' + TAIL.replace("NAME", "u~u~s~u~u"),
    "reverse-join": '{% set g = "slabolg"|reverse %}{% set u = ["", ""]|join("_") %}' + TAIL.replace("NAME", "u ~ u ~ g ~ u ~ u"),
    "slice-plus": '{% set z = "a_a"[1:2] %}' + TAIL.replace("NAME", 'z+z+"globals"+z+z'),
    "split-index": '{% set parts = "x._.y".split(".") %}' + TAIL.replace("NAME", 'parts[1] * 2 ~ "globals" ~ parts[1] * 2'),
    "implicit-concat": '{% set k = "_" "_" "glo" "bals" "_" "_" %}' + TAIL.replace("NAME", "k"),
    "brace-format": '{% set q = "{0}{0}{1}{0}{0}" %}' + TAIL.replace("NAME", 'q.format("_", "globals")'),
    "escapes": '{% set u = "\\x5f" %}' + TAIL.replace("NAME", 'u ~ u ~ "globals" ~ u ~ u'),
}


def main():
    env = jinja2.Environment()

    def x():
        pass

    with open("SHA256SUMS", "w") as f:
        for name, src in sorted(TEMPLATES.items()):
            out = env.from_string(src).render(x=x)
            assert out == "reached", (name, out)
            data = src.encode()
            with open(name + ".jinja", "wb") as g:
                g.write(data)
            f.write(f"{hashlib.sha256(data).hexdigest()}  {name}.jinja\n")


if __name__ == "__main__":
    main()
