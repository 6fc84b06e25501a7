#!/usr/bin/env python3
"""Extracts what the sandbox's Archy judge needs from the Architect Scripting SDK reference.

Source: the repository MyPureCloud/purecloud-flow-scripting-api-sdk-javascript, `docs/*.html`
(one page per class, members with their types, inherited ones included through `Extends`).
Usage (a git directory of a clone or mirror of that repository):

    python3 crates/sandbox/tools/sdk_reference.py GIT_DIR > crates/sandbox/src/archy/sdk-reference.txt

Output, one fact a line, tab-separated (`#` lines are comments):
    flow      <root key>   <class>                 a flow type (ArchFlowInQueueCall -> inqueueCall)
    flowkey   <root key>   <member>  <type>        a member of a flow class (settingsMenu, variables...)
    settings  <member>     <property> <type>       a property of the settings class a flow member has
    action    <action>     <class>                 an action (ArchActionTransferToAcd -> transferToAcd)
    prop      <action>     <member>  <type>        an action's property
    output    <action>     <output>                an action's output (SDK outputOpen -> YAML outputs.open)
    choice    <choice>     <class>                 a menu choice (ArchMenuTask -> menuTask)
    choiceprop <choice>    <member>  <type>
    variable  <yaml type>  <class>                 a variable type (ArchVariableString -> stringVariable)
    datatype  <name>       <class>                 a data type of values (ArchValueScheduleGroup -> ScheduleGroup)
The YAML names follow the rule by which the corpus names SDK classes and members: the class name
without its prefix, first letter lower-cased; `InQueue` is written `inqueue`; `outputX` members
are the keys of `outputs`; a member naming a task, menu or state is written `<member>Ref`
(SDK `targetMenu`, `targetTask` -> corpus `targetMenuRef`, `targetTaskRef`), a flow named by a
`<x>Info` member is written `<x>` (`targetFlowInfo` -> `targetFlow`); a variable type is its
name lower-camel-cased plus `Variable` (and, without `Variable`, the data type an `updateData`
statement names: `string`, `dateTime`).
"""
import html
import re
import subprocess
import sys

# Members of the SDK's runtime objects, not properties written in a flow file.
RUNTIME = re.compile(
    r"^(is[A-Z].*|displayTypeName.*|logStr.*|parent[A-Z].*|trackingId|id|idMayBeBlank|url|_.*|"
    r"supports[A-Z].*|flowType|dataTypes|startUpObject|version|hasOutputs|outputs|"
    r"outputsSupported|actions|actionTask|tasks|menus|states|variables|scripting.*|"
    r"languageSettings)$"
)


def git(gitdir, *args):
    return subprocess.run(["git", "--git-dir", gitdir, *args], check=True,
                          capture_output=True, text=True).stdout


def lcfirst(s):
    return s[:1].lower() + s[1:]


class Docs:
    def __init__(self, gitdir):
        self.gitdir = gitdir
        self.pages = {}
        for path in git(gitdir, "ls-tree", "--name-only", "HEAD", "docs/").split():
            m = re.match(r"docs/(Arch\w+)\.html$", path)
            if m:
                self.pages[m.group(1)] = path
        self.cache = {}

    def members(self, cls):
        """(member, type) of a class, inherited members included."""
        if cls in self.cache:
            return self.cache[cls]
        if cls not in self.pages:
            return []
        text = git(self.gitdir, "show", "HEAD:" + self.pages[cls])
        text = text[text.find('id="main"'):]
        end = text.find('<h3 class="subsection-title">Methods</h3>')
        body = text[:end] if end > 0 else text
        out = []
        for m in re.finditer(r'<h4 class="name" id="([^"]+)">(.*?)</h4>', body, re.S):
            name = m.group(1)
            if name.startswith(".") or name == cls:
                continue
            sig = html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", m.group(2)))).strip()
            typ = sig.split(":", 1)[1].strip() if ":" in sig else ""
            out.append((name, typ))
        ext = re.findall(r'<h3 class="subsection-title">Extends</h3>.*?<a href="(\w+)\.html"', text, re.S)
        for parent in ext[:1]:
            for mem in self.members(parent):
                if mem[0] not in {n for n, _ in out}:
                    out.append(mem)
        self.cache[cls] = sorted(out)
        return self.cache[cls]


REFERENCED = re.compile(r"^(ArchTask\w*|ArchMenu\w*|ArchState\w*|ArchBaseMenu)(\|(ArchTask\w*|ArchMenu\w*|ArchState\w*))*$")


def member_names(member, typ):
    """The YAML keys of a member: `<member>Ref` when it names a task, menu or state; `<x>` for a
    flow named by `<x>Info` (SDK `targetFlowInfo` -> corpus `transferToFlow.targetFlow`)."""
    if REFERENCED.match(typ):
        return [member + "Ref"]
    if typ.startswith("ArchFlowInfo") and member.endswith("Info"):
        return [member, member[: -len("Info")]]
    return [member]


def yaml_name(cls, prefix):
    return lcfirst(cls[len(prefix):]).replace("inQueue", "inqueue")


def main():
    gitdir = sys.argv[1]
    docs = Docs(gitdir)
    commit = git(gitdir, "rev-parse", "HEAD").strip()
    print("# The Architect Scripting SDK reference, as the sandbox's Archy judge reads it.")
    print(f"# Source: MyPureCloud/purecloud-flow-scripting-api-sdk-javascript docs/*.html at {commit}")
    print("# Regenerate: python3 crates/sandbox/tools/sdk_reference.py GIT_DIR > crates/sandbox/src/archy/sdk-reference.txt")
    lines = []
    settings_classes = {}
    for cls in sorted(docs.pages):
        if cls.startswith("ArchFlow") and cls not in ("ArchFlowInfo", "ArchFlowInfoBasic", "ArchFlowInfoVersion"):
            root = yaml_name(cls, "ArchFlow")
            lines.append(("flow", root, cls))
            for m, t in docs.members(cls):
                if RUNTIME.match(m) and not m.startswith("settings"):
                    continue
                lines.append(("flowkey", root, m, t))
                if m.startswith("settings") and t.startswith("ArchSettings"):
                    settings_classes[m] = settings_classes.get(m, set()) | {t}
        elif cls.startswith("ArchAction") and cls != "ArchActionOutput":
            action = yaml_name(cls, "ArchAction")
            lines.append(("action", action, cls))
            for m, t in docs.members(cls):
                if t == "ArchActionOutput" and m.startswith("output") and len(m) > 6:
                    lines.append(("output", action, lcfirst(m[6:])))
                elif not RUNTIME.match(m):
                    lines.extend(("prop", action, n, t) for n in member_names(m, t))
        elif re.match(r"ArchMenu[A-Z]", cls) and cls != "ArchMenu":
            choice = "menu" + cls[len("ArchMenu"):]
            lines.append(("choice", choice, cls))
            for m, t in docs.members(cls):
                if not RUNTIME.match(m):
                    lines.extend(("choiceprop", choice, n, t) for n in member_names(m, t))
        elif re.match(r"ArchValue[A-Z]", cls) and not cls.endswith("Collection") and cls != "ArchValueSettings":
            # The judge reads Architect's conversion functions `To<data type>` from these
            # (Genesys help, "Convert a string value to a typed value").
            lines.append(("datatype", cls[len("ArchValue"):], cls))
        elif re.match(r"ArchVariable[A-Z]", cls) and cls != "ArchVariableSettings":
            lines.append(("variable", lcfirst(cls[len("ArchVariable"):]) + "Variable", cls))
    for key, classes in sorted(settings_classes.items()):
        for cls in sorted(classes):
            for m, t in docs.members(cls):
                if not RUNTIME.match(m):
                    lines.extend(("settings", key, n, t) for n in member_names(m, t))
    for line in sorted(set(lines)):
        print("\t".join(line))


if __name__ == "__main__":
    main()
