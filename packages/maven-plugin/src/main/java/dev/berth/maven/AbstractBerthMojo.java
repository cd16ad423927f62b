package dev.berth.maven;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.berth.client.ApiClient;
import dev.berth.client.ApiException;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Set;
import org.apache.maven.execution.MavenSession;
import org.apache.maven.plugin.AbstractMojo;
import org.apache.maven.plugin.MojoExecution;
import org.apache.maven.plugin.MojoExecutionException;
import org.apache.maven.plugin.MojoFailureException;
import org.apache.maven.plugins.annotations.Parameter;
import org.apache.maven.project.MavenProject;
import org.apache.maven.settings.Server;

/** Settings every goal shares, the gateway client, and following an operation to its end. */
public abstract class AbstractBerthMojo extends AbstractMojo {
  /** Statuses an operation ends with that fail the build. */
  static final Set<String> FAILED = Set.of("failed", "rolled_back", "paused", "cancelled");

  /** The gateway's base URL, e.g. http://127.0.0.1:8080. */
  @Parameter(property = "berth.url", required = true)
  protected String url;

  /** The registered cluster to act on. */
  @Parameter(property = "berth.cluster", required = true)
  protected String cluster;

  /** The app; defaults to the spec's own name where a goal has a spec. */
  @Parameter(property = "berth.app")
  protected String app;

  /** The settings.xml &lt;server&gt; whose password is the Berth token. */
  @Parameter(property = "berth.serverId", defaultValue = "berth")
  protected String serverId;

  /** Skips the goal. */
  @Parameter(property = "berth.skip", defaultValue = "false")
  protected boolean skip;

  /** Longest wait for an operation to end, in seconds. */
  @Parameter(property = "berth.timeout", defaultValue = "600")
  protected int timeoutSeconds;

  /** Longest wait for the gateway to answer one call, in seconds. */
  @Parameter(property = "berth.requestTimeout", defaultValue = "60")
  protected int requestTimeoutSeconds;

  /** Sent as the Idempotency-Key instead of the one derived from the build. */
  @Parameter(property = "berth.idempotencyKey")
  protected String idempotencyKey;

  @Parameter(defaultValue = "${project}", readonly = true)
  protected MavenProject project;

  @Parameter(defaultValue = "${session}", readonly = true)
  protected MavenSession session;

  @Parameter(defaultValue = "${mojoExecution}", readonly = true)
  protected MojoExecution mojoExecution;

  private ApiClient client;

  @Override
  public final void execute() throws MojoExecutionException, MojoFailureException {
    if (skip) {
      getLog().info("Berth: skipped (berth.skip)");
      return;
    }
    try {
      run();
    } catch (ApiException e) {
      throw new MojoFailureException("Berth answered " + e.getCode() + ": " + reasonOf(e.getResponseBody()));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new MojoExecutionException("interrupted", e);
    } catch (java.io.IOException e) {
      throw new MojoExecutionException("could not reach the Berth gateway at " + url + ": " + e, e);
    }
  }

  protected abstract void run() throws MojoExecutionException, MojoFailureException, ApiException, java.io.IOException, InterruptedException;

  /** The token from settings.xml; never logged. */
  private String token() throws MojoExecutionException {
    Server server = session.getSettings().getServer(serverId);
    if (server == null || server.getPassword() == null || server.getPassword().isBlank()) {
      throw new MojoExecutionException("no Berth token: add <server><id>" + serverId + "</id><password>…</password></server> to settings.xml");
    }
    return server.getPassword();
  }

  /** The generated client, authenticated with the token. */
  protected ApiClient client() throws MojoExecutionException {
    if (client == null) {
      String bearer = "Bearer " + token();
      client = new ApiClient(HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(requestTimeoutSeconds)), ApiClient.createDefaultObjectMapper(), url.replaceAll("/+$", ""));
      client.setReadTimeout(Duration.ofSeconds(requestTimeoutSeconds));
      client.setRequestInterceptor(b -> b.header("Authorization", bearer));
    }
    return client;
  }

  protected ObjectMapper mapper() throws MojoExecutionException {
    return client().getObjectMapper();
  }

  /** A generated model (or anything) as a JSON tree, so reading it does not depend on model class names. */
  protected JsonNode tree(Object value) throws MojoExecutionException {
    return mapper().valueToTree(value);
  }

  /** Converts plain values into the generated request model of a call. */
  protected <T> T model(Object value, Class<T> type) throws MojoExecutionException {
    return mapper().convertValue(value, type);
  }

  /** A key derived from the project's coordinates, the goal and what it sends: a retried build sends the same key. */
  protected String idempotencyKey(String content) {
    if (idempotencyKey != null && !idempotencyKey.isBlank()) return idempotencyKey;
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      String goal = mojoExecution != null ? mojoExecution.getGoal() : getClass().getSimpleName();
      String coords = project.getGroupId() + ":" + project.getArtifactId() + ":" + project.getVersion();
      sha.update((coords + "\n" + goal + "\n" + cluster + "\n" + app + "\n").getBytes(StandardCharsets.UTF_8));
      sha.update(content.getBytes(StandardCharsets.UTF_8));
      return "maven-" + HexFormat.of().formatHex(sha.digest()).substring(0, 40);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Berth's error message (and field details) from an error body. */
  protected String reasonOf(String body) {
    if (body == null || body.isBlank()) return "(no body)";
    try {
      JsonNode error = new ObjectMapper().readTree(body).path("error");
      if (error.isMissingNode()) return body;
      StringBuilder out = new StringBuilder(error.path("code").asText()).append(": ").append(error.path("message").asText());
      for (JsonNode d : error.path("details")) out.append("\n  ").append(d.path("path").asText()).append(": ").append(d.path("message").asText());
      for (JsonNode v : error.path("violations")) out.append("\n  ").append(v.path("path").asText()).append(": ").append(v.path("message").asText());
      return out.toString();
    } catch (Exception e) {
      return body;
    }
  }

  /** Sends a raw body (the user's spec document) with the generated client's HTTP client and authentication. */
  protected JsonNode send(String method, String path, String contentType, String body, String key) throws MojoExecutionException, MojoFailureException, java.io.IOException, InterruptedException {
    ApiClient c = client();
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(c.getBaseUri() + path)).timeout(Duration.ofSeconds(requestTimeoutSeconds)).header("Content-Type", contentType).header("Accept", "application/json").method(method, HttpRequest.BodyPublishers.ofString(body));
    if (key != null) b.header("Idempotency-Key", key);
    c.getRequestInterceptor().accept(b);
    HttpResponse<String> res = c.getHttpClient().send(b.build(), HttpResponse.BodyHandlers.ofString());
    if (res.statusCode() >= 400) throw new MojoFailureException("Berth answered " + res.statusCode() + ": " + reasonOf(res.body()));
    return new ObjectMapper().readTree(res.body());
  }

  /** Follows an operation over its event stream (HTTP/1.1 SSE) until it ends; fails the build unless it succeeded. */
  protected JsonNode follow(String operationId, String what) throws MojoExecutionException, MojoFailureException, ApiException, java.io.IOException, InterruptedException {
    ApiClient c = client();
    Instant deadline = Instant.now().plusSeconds(timeoutSeconds);
    getLog().info("Berth: " + what + ": operation " + operationId);
    while (Instant.now().isBefore(deadline)) {
      HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(c.getBaseUri() + "/v1/operations/" + operationId + "/events")).header("Accept", "text/event-stream").timeout(Duration.between(Instant.now(), deadline)).GET();
      c.getRequestInterceptor().accept(b);
      HttpResponse<java.io.InputStream> res;
      try {
        res = c.getHttpClient().send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
      } catch (java.net.http.HttpTimeoutException e) {
        break;
      }
      if (res.statusCode() >= 400) {
        throw new MojoFailureException("Berth answered " + res.statusCode() + " for the operation's events: " + reasonOf(new String(res.body().readAllBytes(), StandardCharsets.UTF_8)));
      }
      boolean ended = false;
      try (BufferedReader r = new BufferedReader(new InputStreamReader(res.body(), StandardCharsets.UTF_8))) {
        String event = "message";
        StringBuilder data = new StringBuilder();
        for (String line; (line = r.readLine()) != null; ) {
          if (line.isEmpty()) {
            if (data.length() > 0) {
              if ("end".equals(event)) {
                ended = true;
                break;
              }
              if ("progress".equals(event)) printProgress(new ObjectMapper().readTree(data.toString()));
            }
            event = "message";
            data.setLength(0);
          } else if (line.startsWith("event:")) {
            event = line.substring(6).trim();
          } else if (line.startsWith("data:")) {
            data.append(line.substring(5).trim());
          }
        }
      } catch (java.io.IOException e) {
        getLog().debug("event stream broke; reconnecting: " + e);
      }
      if (ended) break;
    }
    JsonNode op = tree(new dev.berth.client.api.OperationsApi(c).getOperation(operationId));
    String status = op.path("status").asText();
    if ("pending".equals(status) || "running".equals(status)) {
      throw new MojoFailureException("Berth: " + what + " did not end within " + timeoutSeconds + "s (operation " + operationId + " is " + status + ")");
    }
    if (FAILED.contains(status)) {
      String code = op.path("errorCode").asText("");
      throw new MojoFailureException("Berth: " + what + " " + status.replace('_', ' ') + (code.isEmpty() ? "" : " (" + code + ")") + ": " + op.path("error").asText("no reason given"));
    }
    getLog().info("Berth: " + what + " " + status + (op.hasNonNull("toRevision") ? " (revision " + op.path("toRevision").asText() + ")" : ""));
    return op;
  }

  private void printProgress(JsonNode p) {
    StringBuilder line = new StringBuilder("  ").append(p.path("phase").asText());
    if (p.hasNonNull("service")) line.append(" ").append(p.path("service").asText());
    if (p.hasNonNull("batchesTotal")) line.append(" batches ").append(p.path("batchesDone").asInt()).append("/").append(p.path("batchesTotal").asInt());
    if (p.hasNonNull("replicasTotal")) line.append(" replicas ").append(p.path("replicasUpdated").asInt()).append("/").append(p.path("replicasTotal").asInt());
    if (p.hasNonNull("message")) line.append(": ").append(p.path("message").asText());
    getLog().info(line.toString());
  }
}
