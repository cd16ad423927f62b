package dev.berth.maven;

import dev.berth.client.ApiException;
import dev.berth.client.api.ServicesApi;
import dev.berth.client.model.UpdateServiceRequest;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.maven.plugin.MojoExecutionException;
import org.apache.maven.plugin.MojoFailureException;
import org.apache.maven.plugins.annotations.Mojo;
import org.apache.maven.plugins.annotations.Parameter;

/** Rolls one service to a new image with the update policy from the POM, printing progress as batches finish. */
@Mojo(name = "set-image", threadSafe = true)
public class SetImageMojo extends AbstractBerthMojo {
  @Parameter(property = "berth.service", required = true)
  protected String service;

  @Parameter(property = "berth.image", required = true)
  protected String image;

  /** The update policy: parallelism, delay, order, failureAction, monitor, maxFailureRatio (as Berth's API names them). */
  @Parameter
  protected Map<String, String> update;

  @Override
  protected void run() throws MojoExecutionException, MojoFailureException, ApiException, java.io.IOException, InterruptedException {
    if (app == null) throw new MojoExecutionException("berth.app is required for set-image");
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("image", image);
    if (update != null && !update.isEmpty()) {
      Map<String, Object> policy = new LinkedHashMap<>();
      update.forEach((k, v) -> policy.put(k, v.matches("\\d+") ? Integer.valueOf(v) : v.matches("\\d*\\.\\d+") ? Double.valueOf(v) : v));
      body.put("update", policy);
    }
    UpdateServiceRequest request = model(body, UpdateServiceRequest.class);
    JsonNode res = tree(new ServicesApi(client()).updateService(cluster, app, service, request, null, idempotencyKey(mapper().writeValueAsString(body) + service)));
    if (!res.path("changed").asBoolean(true) || res.path("operation").isNull() || res.path("operation").isMissingNode()) {
      getLog().info("Berth: " + app + "/" + service + " already runs " + image);
      return;
    }
    follow(res.path("operation").path("id").asText(), "rollout of " + app + "/" + service + " to " + image);
  }
}
