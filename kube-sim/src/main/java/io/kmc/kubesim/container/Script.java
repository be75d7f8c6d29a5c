package io.kmc.kubesim.container;

import java.util.ArrayList;
import java.util.List;

/**
 * A parsed shell script, in the subset of the POSIX shell language the simulated containers speak:
 * simple commands with quoting, variables ({@code $NAME}, {@code ${NAME:-default}}, {@code $?},
 * positional parameters), command substitution {@code $(...)}, globs, assignments, redirections
 * ({@code > >> < 2> 2>&1 >&2}), pipelines ({@code |}, {@code !}), and lists ({@code ; && ||},
 * newlines). No control structures (if, for, while), functions, subshells or background jobs.
 */
final class Script {

  /** Something that runs and yields an exit status. */
  sealed interface Node permits Sequence, AndOr, Pipeline, Command {
  }

  /** Commands run one after the other. */
  record Sequence(List<Node> items) implements Node {
  }

  /** {@code first && second}, or {@code first || second} when {@code and} is false. */
  record AndOr(Node first, boolean and, Node second) implements Node {
  }

  /** Commands whose stdout feeds the next one's stdin; the status is the last one's, inverted by {@code !}. */
  record Pipeline(List<Command> commands, boolean negated) implements Node {
  }

  /** {@code NAME=value... word... redirection...}. */
  record Command(List<Assignment> assignments, List<Word> words, List<Redirect> redirects) implements Node {
  }

  record Assignment(String name, Word value) {
  }

  /** {@code fd op target}: op is one of {@code > >> < >&}; for {@code >&} the target is a descriptor number. */
  record Redirect(int fd, String op, Word target) {
  }

  /** A word as written: its parts expand to zero or more fields. */
  record Word(List<Part> parts) {

    /** The word's literal text if it has no expansions (for reserved words and assignments), else null. */
    String literal() {
      StringBuilder text = new StringBuilder();
      for (Part part : parts) {
        if (!(part instanceof Literal literal)) {
          return null;
        }
        text.append(literal.text());
      }
      return text.toString();
    }
  }

  /** A piece of a word. Quoted pieces are neither split into fields nor globbed. */
  sealed interface Part permits Literal, Variable, Substitution {
  }

  record Literal(String text, boolean quoted) implements Part {
  }

  /** {@code $name}, {@code ${name}}, {@code ${name:-fallback}} (fallback null when absent). */
  record Variable(String name, Word fallback, boolean quoted) implements Part {
  }

  /** {@code $(script)}: replaced by the script's output, trailing newlines removed. */
  record Substitution(Node script, boolean quoted) implements Part {
  }

  /** A script the parser rejects, with the message sh prints. */
  static final class SyntaxError extends RuntimeException {
    SyntaxError(String message) {
      super(message, null, false, false);
    }
  }

  private Script() {
  }

  /** Parses a whole script; an empty one is an empty sequence. */
  static Node parse(String source) {
    return new Parser(new Lexer(source).tokens()).script();
  }

  // ---- lexing ----

  private enum Kind { WORD, OPERATOR, IO_NUMBER, NEWLINE, END }

  private record Token(Kind kind, String operator, Word word, int number) {
    boolean is(String op) {
      return kind == Kind.OPERATOR && operator.equals(op);
    }
  }

  private static final class Lexer {
    private final String text;
    private int position;

    Lexer(String text) {
      this.text = text;
    }

    List<Token> tokens() {
      List<Token> tokens = new ArrayList<>();
      while (true) {
        skipBlanksAndComments();
        if (position >= text.length()) {
          tokens.add(new Token(Kind.END, null, null, 0));
          return tokens;
        }
        char c = text.charAt(position);
        if (c == '\n') {
          position++;
          tokens.add(new Token(Kind.NEWLINE, null, null, 0));
        } else if (isOperatorStart(c)) {
          tokens.add(operator());
        } else {
          int start = position;
          Word word = word(false);
          if (position < text.length() && (text.charAt(position) == '>' || text.charAt(position) == '<')
              && text.substring(start, position).matches("[0-9]")) {
            tokens.add(new Token(Kind.IO_NUMBER, null, null, text.charAt(start) - '0'));
          } else {
            tokens.add(new Token(Kind.WORD, null, word, 0));
          }
        }
      }
    }

    private void skipBlanksAndComments() {
      while (position < text.length()) {
        char c = text.charAt(position);
        if (c == ' ' || c == '\t' || c == '\r') {
          position++;
        } else if (c == '\\' && position + 1 < text.length() && text.charAt(position + 1) == '\n') {
          position += 2;
        } else if (c == '#') {
          while (position < text.length() && text.charAt(position) != '\n') {
            position++;
          }
        } else {
          return;
        }
      }
    }

    private static boolean isOperatorStart(char c) {
      return c == ';' || c == '&' || c == '|' || c == '(' || c == ')' || c == '<' || c == '>';
    }

    private Token operator() {
      for (String op : List.of("&&", "||", ">>", ">&", "<&", ";;", ";", "&", "|", "(", ")", "<", ">")) {
        if (text.startsWith(op, position)) {
          position += op.length();
          return new Token(Kind.OPERATOR, op, null, 0);
        }
      }
      throw new SyntaxError("syntax error: unexpected \"" + text.charAt(position) + "\"");
    }

    /** Reads a word up to an unquoted blank or operator (or, inside ${..:-..}, a closing brace). */
    private Word word(boolean inBraces) {
      List<Part> parts = new ArrayList<>();
      StringBuilder plain = new StringBuilder();
      while (position < text.length()) {
        char c = text.charAt(position);
        if (inBraces && c == '}') {
          break;
        }
        if (!inBraces && (c == ' ' || c == '\t' || c == '\n' || c == '\r' || isOperatorStart(c))) {
          break;
        }
        if (c == '\'') {
          flush(parts, plain, false);
          int end = text.indexOf('\'', position + 1);
          if (end < 0) {
            throw new SyntaxError("syntax error: unterminated quoted string");
          }
          parts.add(new Literal(text.substring(position + 1, end), true));
          position = end + 1;
        } else if (c == '"') {
          flush(parts, plain, false);
          position++;
          doubleQuoted(parts);
        } else if (c == '\\') {
          flush(parts, plain, false);
          if (position + 1 >= text.length()) {
            position++;
            break;
          }
          char escaped = text.charAt(position + 1);
          position += 2;
          if (escaped != '\n') {
            parts.add(new Literal(String.valueOf(escaped), true));
          }
        } else if (c == '$') {
          Part expansion = dollar(false);
          if (expansion == null) {
            plain.append('$');
          } else {
            flush(parts, plain, false);
            parts.add(expansion);
          }
        } else {
          plain.append(c);
          position++;
        }
      }
      flush(parts, plain, false);
      return new Word(parts);
    }

    private void doubleQuoted(List<Part> parts) {
      StringBuilder quoted = new StringBuilder();
      while (true) {
        if (position >= text.length()) {
          throw new SyntaxError("syntax error: unterminated quoted string");
        }
        char c = text.charAt(position);
        if (c == '"') {
          position++;
          flush(parts, quoted, true);
          if (parts.isEmpty() || !(parts.get(parts.size() - 1) instanceof Literal)) {
            parts.add(new Literal("", true));
          }
          return;
        }
        if (c == '\\' && position + 1 < text.length() && "$`\"\\\n".indexOf(text.charAt(position + 1)) >= 0) {
          if (text.charAt(position + 1) != '\n') {
            quoted.append(text.charAt(position + 1));
          }
          position += 2;
        } else if (c == '$') {
          Part expansion = dollar(true);
          if (expansion == null) {
            quoted.append('$');
          } else {
            flush(parts, quoted, true);
            parts.add(expansion);
          }
        } else {
          quoted.append(c);
          position++;
        }
      }
    }

    /** An expansion at a '$', or null (with the '$' consumed) when the '$' is just a character. */
    private Part dollar(boolean quoted) {
      position++;
      if (position >= text.length()) {
        return null;
      }
      char c = text.charAt(position);
      if (c == '(') {
        int end = matchingParen(position);
        String inner = text.substring(position + 1, end);
        position = end + 1;
        return new Substitution(parse(inner), quoted);
      }
      if (c == '{') {
        position++;
        int start = position;
        while (position < text.length() && isNameChar(text.charAt(position), position == start)) {
          position++;
        }
        String name = text.substring(start, position);
        if (name.isEmpty() && position < text.length() && "?$#@*0123456789".indexOf(text.charAt(position)) >= 0) {
          name = String.valueOf(text.charAt(position++));
        }
        Word fallback = null;
        if (text.startsWith(":-", position)) {
          position += 2;
          fallback = word(true);
        }
        if (position >= text.length() || text.charAt(position) != '}' || name.isEmpty()) {
          throw new SyntaxError("syntax error: bad substitution");
        }
        position++;
        return new Variable(name, fallback, quoted);
      }
      if ("?$#@*0123456789".indexOf(c) >= 0) {
        position++;
        return new Variable(String.valueOf(c), null, quoted);
      }
      int start = position;
      while (position < text.length() && isNameChar(text.charAt(position), position == start)) {
        position++;
      }
      if (position == start) {
        return null;
      }
      return new Variable(text.substring(start, position), null, quoted);
    }

    private int matchingParen(int open) {
      int depth = 0;
      for (int i = open; i < text.length(); i++) {
        char c = text.charAt(i);
        if (c == '\'') {
          int end = text.indexOf('\'', i + 1);
          if (end < 0) {
            break;
          }
          i = end;
        } else if (c == '\\') {
          i++;
        } else if (c == '(') {
          depth++;
        } else if (c == ')' && --depth == 0) {
          return i;
        }
      }
      throw new SyntaxError("syntax error: unterminated $(");
    }

    private static boolean isNameChar(char c, boolean first) {
      return c == '_' || Character.isLetter(c) || (!first && Character.isDigit(c));
    }

    private static void flush(List<Part> parts, StringBuilder text, boolean quoted) {
      if (text.length() > 0) {
        parts.add(new Literal(text.toString(), quoted));
        text.setLength(0);
      }
    }
  }

  // ---- parsing ----

  private static final class Parser {
    private final List<Token> tokens;
    private int index;

    Parser(List<Token> tokens) {
      this.tokens = tokens;
    }

    Node script() {
      Node node = list();
      if (peek().kind() != Kind.END) {
        throw unexpected(peek());
      }
      return node;
    }

    /** and_or ((';' | '&' | newline) and_or)* */
    private Node list() {
      List<Node> items = new ArrayList<>();
      skipNewlines();
      while (peek().kind() == Kind.WORD || peek().kind() == Kind.IO_NUMBER || peek().is("<") || peek().is(">") || peek().is(">>") || peek().is(">&")) {
        items.add(andOr());
        if (peek().is(";") || peek().is("&") || peek().kind() == Kind.NEWLINE) {
          next();
          skipNewlines();
        } else {
          break;
        }
      }
      return items.size() == 1 ? items.get(0) : new Sequence(items);
    }

    private Node andOr() {
      Node node = pipeline();
      while (peek().is("&&") || peek().is("||")) {
        boolean and = next().is("&&");
        skipNewlines();
        node = new AndOr(node, and, pipeline());
      }
      return node;
    }

    private Node pipeline() {
      boolean negated = false;
      if (peek().kind() == Kind.WORD && "!".equals(peek().word().literal())) {
        next();
        negated = true;
      }
      List<Command> commands = new ArrayList<>();
      commands.add(command());
      while (peek().is("|")) {
        next();
        skipNewlines();
        commands.add(command());
      }
      return commands.size() == 1 && !negated ? commands.get(0) : new Pipeline(commands, negated);
    }

    private Command command() {
      List<Assignment> assignments = new ArrayList<>();
      List<Word> words = new ArrayList<>();
      List<Redirect> redirects = new ArrayList<>();
      while (true) {
        Token token = peek();
        if (token.kind() == Kind.IO_NUMBER) {
          next();
          redirects.add(redirect(token.number()));
        } else if (token.is(">") || token.is(">>") || token.is("<") || token.is(">&") || token.is("<&")) {
          redirects.add(redirect(token.is("<") || token.is("<&") ? 0 : 1));
        } else if (token.kind() == Kind.WORD) {
          next();
          Assignment assignment = words.isEmpty() ? assignment(token.word()) : null;
          if (assignment != null) {
            assignments.add(assignment);
          } else {
            words.add(token.word());
          }
        } else {
          break;
        }
      }
      if (assignments.isEmpty() && words.isEmpty() && redirects.isEmpty()) {
        throw unexpected(peek());
      }
      return new Command(assignments, words, redirects);
    }

    private Redirect redirect(int fd) {
      Token op = next();
      if (!(op.is(">") || op.is(">>") || op.is("<") || op.is(">&") || op.is("<&"))) {
        throw unexpected(op);
      }
      Token target = next();
      if (target.kind() != Kind.WORD) {
        throw unexpected(target);
      }
      String operator = op.is("<&") ? ">&" : op.operator();
      return new Redirect(fd, operator, target.word());
    }

    /** NAME=value as the first words of a command, the name unquoted. */
    private static Assignment assignment(Word word) {
      if (word.parts().isEmpty() || !(word.parts().get(0) instanceof Literal first) || first.quoted()) {
        return null;
      }
      int equals = first.text().indexOf('=');
      if (equals <= 0 || !first.text().substring(0, equals).matches("[A-Za-z_][A-Za-z0-9_]*")) {
        return null;
      }
      List<Part> value = new ArrayList<>();
      String rest = first.text().substring(equals + 1);
      if (!rest.isEmpty()) {
        value.add(new Literal(rest, false));
      }
      value.addAll(word.parts().subList(1, word.parts().size()));
      return new Assignment(first.text().substring(0, equals), new Word(value));
    }

    private void skipNewlines() {
      while (peek().kind() == Kind.NEWLINE) {
        next();
      }
    }

    private Token peek() {
      return tokens.get(index);
    }

    private Token next() {
      Token token = tokens.get(index);
      if (token.kind() != Kind.END) {
        index++;
      }
      return token;
    }

    private static SyntaxError unexpected(Token token) {
      String what = switch (token.kind()) {
        case END -> "end of file";
        case NEWLINE -> "newline";
        case OPERATOR -> "\"" + token.operator() + "\"";
        default -> "word";
      };
      return new SyntaxError("syntax error: unexpected " + what);
    }
  }
}
