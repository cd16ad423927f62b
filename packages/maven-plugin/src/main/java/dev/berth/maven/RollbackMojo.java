package dev.berth.maven;

import com.fasterxml.jackson.databind.JsonNode;
import dev.berth.client.ApiException;
import dev.berth.client.api.AppsApi;
import dev.berth.client.model.RollbackRequest;
import java.util.HashMap;
import java.util.Map;
import org.apache.maven.plugin.MojoExecutionException;
import org.apache.maven.plugin.MojoFailureException;
import org.apache.maven.plugins.annotations.Mojo;
import org.apache.maven.plugins.annotations.Parameter;

/** Rolls the app back to a given revision, or the previous one. */
@Mojo(name = "rollback", threadSafe = true)
public class RollbackMojo extends AbstractBerthMojo {
  /** The revision to go back to; the previous one when unset. */
  @Parameter(property = "berth.revision")
  protected Integer revision;

  @Override
  protected void run() throws MojoExecutionException, MojoFailureException, ApiException, java.io.IOException, InterruptedException {
    if (app == null) throw new MojoExecutionException("berth.app is required for rollback");
    Map<String, Object> body = new HashMap<>();
    if (revision != null) body.put("revision", revision);
    // A rollback is asked for on purpose each time: no derived key unless one is given.
    JsonNode res = tree(new AppsApi(client()).rollbackApp(cluster, app, model(body, RollbackRequest.class), null, idempotencyKey));
    if (!res.path("changed").asBoolean(true) || res.path("operation").isNull() || res.path("operation").isMissingNode()) {
      getLog().info("Berth: " + app + " already runs that revision");
      return;
    }
    follow(res.path("operation").path("id").asText(), "rollback of " + app + (revision != null ? " to revision " + revision : ""));
  }
}
