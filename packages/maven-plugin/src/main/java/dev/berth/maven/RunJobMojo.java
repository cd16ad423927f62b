package dev.berth.maven;

import com.fasterxml.jackson.databind.JsonNode;
import dev.berth.client.ApiException;
import dev.berth.client.api.JobsApi;
import dev.berth.client.model.JobSpecInput;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.maven.plugin.MojoExecutionException;
import org.apache.maven.plugin.MojoFailureException;
import org.apache.maven.plugins.annotations.Mojo;
import org.apache.maven.plugins.annotations.Parameter;

/** Runs a one-off job and fails the build when it exits non-zero, printing its log tail. */
@Mojo(name = "run-job", threadSafe = true)
public class RunJobMojo extends AbstractBerthMojo {
  @Parameter(property = "berth.job", required = true)
  protected String job;

  @Parameter(property = "berth.image", required = true)
  protected String image;

  /** The command (arguments to the image's entrypoint). */
  @Parameter(property = "berth.command")
  protected List<String> command;

  @Parameter(property = "berth.entrypoint")
  protected List<String> entrypoint;

  @Parameter
  protected Map<String, String> env;

  /** Placement constraints, as in an AppSpec (e.g. node.labels.role == batch); comma-separated on the command line. */
  @Parameter(property = "berth.constraints")
  protected List<String> constraints;

  @Override
  protected void run() throws MojoExecutionException, MojoFailureException, ApiException, java.io.IOException, InterruptedException {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("name", job);
    if (app != null) body.put("app", app);
    body.put("image", image);
    if (command != null && !command.isEmpty()) body.put("command", command);
    if (entrypoint != null && !entrypoint.isEmpty()) body.put("entrypoint", entrypoint);
    if (env != null) body.put("env", env);
    if (constraints != null && !constraints.isEmpty()) body.put("placement", Map.of("constraints", constraints));
    JobsApi jobs = new JobsApi(client());
    // Each run of the goal is a new run of the job: the key is derived only when berth.idempotencyKey is set.
    JsonNode res = tree(jobs.runJob(cluster, model(body, JobSpecInput.class), null, idempotencyKey));
    String id = res.path("job").path("id").asText();
    getLog().info("Berth: job " + job + " started (" + id + ")");
    Instant deadline = Instant.now().plusSeconds(timeoutSeconds);
    JsonNode run = res.path("job");
    while (isOpen(run) && Instant.now().isBefore(deadline)) {
      Thread.sleep(1000);
      run = tree(jobs.getJob(cluster, id));
    }
    String status = run.path("status").asText();
    String tail = run.path("logTail").asText("");
    Integer exit = null;
    for (JsonNode r : run.path("runs")) if (r.hasNonNull("exitCode")) exit = r.path("exitCode").asInt();
    if (isOpen(run)) throw new MojoFailureException("Berth: job " + job + " did not end within " + timeoutSeconds + "s");
    if (!tail.isEmpty()) {
      getLog().info("Berth: job " + job + " log tail:");
      for (String line : tail.split("\n")) getLog().info("  | " + line);
    }
    if (!"succeeded".equals(status) || (exit != null && exit != 0)) {
      throw new MojoFailureException("Berth: job " + job + " " + status + (exit != null ? " with exit code " + exit : "") + (tail.isEmpty() ? "" : "; log tail:\n" + tail));
    }
    getLog().info("Berth: job " + job + " succeeded" + (exit != null ? " (exit code " + exit + ")" : ""));
  }

  private static boolean isOpen(JsonNode job) {
    String s = job.path("status").asText("pending");
    return "pending".equals(s) || "running".equals(s);
  }
}
